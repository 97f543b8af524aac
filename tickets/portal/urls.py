from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.home, name="home"),
    path("appeals/new/<slug:type_code>/", views.appeal_new, name="new"),
    path("appeals/submitted/<str:reference>/", views.appeal_submitted, name="submitted"),
    path("appeals/track/", views.appeal_track, name="track"),
    path("appeals/status/<str:token>/", views.appeal_status, name="status"),
    # The security hold's notice to the account's registered contacts: "not me, stop it".
    path("appeals/hold/<str:token>/", views.hold_objection, name="hold_objection"),
]

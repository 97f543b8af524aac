from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.home, name="home"),
    path("appeals/new/<slug:type_code>/", views.appeal_new, name="new"),
    path("appeals/submitted/<str:reference>/", views.appeal_submitted, name="submitted"),
    path("appeals/track/", views.appeal_track, name="track"),
    path("appeals/status/<str:token>/", views.appeal_status, name="status"),
]

from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("", views.home, name="home"),
    path("appeals/new/<slug:type_code>/", views.appeal_new, name="new"),
    path("appeals/submitted/<str:reference>/", views.appeal_submitted, name="submitted"),
    path("appeals/track/", views.appeal_track, name="track"),
    path("appeals/status/<str:token>/", views.appeal_status, name="status"),
    # The appellant's rights: the link and this browser's grant from it, POST only.
    path("appeals/status/<str:token>/my-data/", views.appeal_data_download, name="status_data"),
    path("appeals/status/<str:token>/delete-id-images/", views.id_images_delete, name="status_delete_id_images"),
    path("appeals/status/<str:token>/sign-out-others/", views.other_devices_sign_out, name="status_sign_out_others"),
    # The security hold's notice to the account's registered contacts: "not me, stop it".
    path("appeals/hold/<str:token>/", views.hold_objection, name="hold_objection"),
    # The decision e-mail's rating link: GET shows the form, POST stores one rating per decision.
    path("appeals/rate/<str:token>/", views.satisfaction_rate_page, name="rate"),
]

from django.urls import path

from . import desk_views

app_name = "desk"

urlpatterns = [
    path("", desk_views.queue, name="queue"),
    path("bulk/", desk_views.bulk, name="bulk"),
    path("metrics/", desk_views.metrics, name="metrics"),
    path("appeals/<str:reference>/", desk_views.appeal_detail, name="appeal"),
    path("appeals/<str:reference>/act/", desk_views.appeal_action, name="act"),
    path("appeals/<str:reference>/records.csv", desk_views.appeal_records_csv, name="records_csv"),
    path("appeals/<str:reference>/comment/", desk_views.appeal_comment_add, name="comment"),
    path("appeals/<str:reference>/evidence/<uuid:evidence_id>/verify/", desk_views.evidence_verify, name="verify"),
]

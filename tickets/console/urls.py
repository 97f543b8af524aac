from django.urls import path

from . import presence, views

app_name = "desk"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("bulk/", views.bulk, name="bulk"),
    path("metrics/", views.metrics, name="metrics"),
    path("audit/", views.audit, name="audit"),
    path("availability/", views.availability, name="availability"),
    path("load/", views.agent_load, name="load"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("appeals/<str:reference>/", views.appeal_detail, name="appeal"),
    path("appeals/<str:reference>/act/", views.appeal_action, name="act"),
    path("appeals/<str:reference>/records.csv", views.appeal_records_csv, name="records_csv"),
    path("appeals/<str:reference>/comment/", views.appeal_comment_add, name="comment"),
    path("appeals/<str:reference>/presence/", presence.appeal_presence, name="presence"),
    path("appeals/<str:reference>/release-again/", views.appeal_release_again_view, name="release_again"),
    path("appeals/<str:reference>/outcome/", views.appeal_outcome_view, name="outcome"),
    path("appeals/<str:reference>/evidence-reason/", views.evidence_reason_add, name="evidence_reason"),
    path("appeals/<str:reference>/evidence/<uuid:evidence_id>/verify/", views.evidence_verify, name="verify"),
]

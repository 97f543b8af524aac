from django.urls import path

from . import views

app_name = "evidence"

urlpatterns = [
    path("<uuid:evidence_id>/", views.evidence_serve, name="serve"),
    path("<uuid:evidence_id>/thumbnail/", views.evidence_thumbnail, name="thumbnail"),
]

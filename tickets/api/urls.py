from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("appeals/", views.AppealCreateView.as_view(), name="appeal-create"),
    path("appeals/<str:reference>/", views.AppealDetailView.as_view(), name="appeal-detail"),
    path("appeals/<str:reference>/fulfilment/", views.FulfilmentReportView.as_view(), name="fulfilment-report"),
    path(
        "appeals/<str:reference>/registered-contacts/",
        views.RegisteredContactsView.as_view(),
        name="registered-contacts",
    ),
    path("events/", views.EventListView.as_view(), name="event-list"),
    path("fresh-photo-codes/", views.FreshPhotoCodeView.as_view(), name="fresh-photo-code"),
]

"""django-otp-webauthn's endpoints (its template tags reverse them by these names), with the two that
complete a ceremony recorded in the staff's audit trail."""

from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views as webauthn_views

from . import views

app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", webauthn_views.BeginCredentialRegistrationView.as_view(), name="credential-registration-begin"),
    path("registration/complete/", views.PasskeyRegistrationComplete.as_view(), name="credential-registration-complete"),
    path(
        "authentication/begin/",
        webauthn_views.BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path("authentication/complete/", views.PasskeyAuthenticationComplete.as_view(), name="credential-authentication-complete"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]

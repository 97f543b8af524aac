from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .health import healthz
from .signin import StaffLoginView


def admin_login(request):
    """The admin signs in through the staff sign-in: its throttling, then the second factor."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"))


def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (the admin, JSON answers): the SVG."""
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("", include("tickets.portal.urls")),
    path("desk/", include("tickets.console.urls")),
    path("evidence/", include("evidence.urls")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", StaffLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", include("supportdesk.two_factor.urls")),
    path("accounts/passkeys/", include("supportdesk.two_factor.passkey_urls")),
    path("admin/login/", admin_login, name="admin_login"),
    # Single sign-on (OpenID Connect): 404 unless OIDC_ENABLED.
    path("accounts/oidc/", include("supportdesk.sso_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tickets.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI from drf-spectacular-sidecar's static files; its start-up script is a file (?script), not inline.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

# Error pages in the site's look and language (templates/400.html … 500.html); 500 renders without the
# database or the session, which may be what failed.
handler500 = "supportdesk.errors.server_error"

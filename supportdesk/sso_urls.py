"""/accounts/oidc/: mozilla_django_oidc.urls (its views are ours, supportdesk/sso.py, by its
OIDC_AUTHENTICATE_CLASS and OIDC_CALLBACK_CLASS settings), each answering 404 while OIDC_ENABLED is off.
A module of its own: mozilla_django_oidc.urls imports supportdesk.sso when it is imported."""

from functools import wraps

from django.conf import settings
from django.http import Http404
from django.urls import URLPattern
from mozilla_django_oidc import urls as oidc_urls


def _when_enabled(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


urlpatterns = [
    URLPattern(pattern.pattern, _when_enabled(pattern.callback), pattern.default_args, pattern.name)
    for pattern in oidc_urls.urlpatterns
]

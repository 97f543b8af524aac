"""Request guards that run before any view: body size, malformed paths, caching of private pages, and
the staff sessions' limits (idle timeout, lifetime, "sign out everywhere")."""

import io
import logging
import tempfile

from csp.constants import SELF, UNSAFE_INLINE
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.defaults import bad_request

from tickets.api.errors import API_PREFIX, RequestTooLarge, error_json_response
from tickets.services.staff_sessions import ENDED, IDLE, staff_session_check

logger = logging.getLogger(__name__)

BODY_TOO_LARGE = "supportdesk.body_too_large"
_CHUNK = 64 * 1024


def _declared_length(environ) -> int | None:
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


class RequestBodyLimit:
    """WSGI middleware (supportdesk/wsgi.py) for bodies sent without a Content-Length (chunked).

    Django reads only CONTENT_LENGTH bytes, so a chunked body would otherwise arrive empty. It is read
    here, at most REQUEST_BODY_MAX_BYTES of it, into a temporary file (memory up to
    FILE_UPLOAD_MAX_MEMORY_SIZE), and handed on with its real length; past the limit reading stops and
    RequestBodyLimitMiddleware answers 413. A declared Content-Length is checked by that middleware
    before anything is read."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and _declared_length(environ) is None:
            self._buffer(environ)
        return self.app(environ, start_response)

    @staticmethod
    def _buffer(environ) -> None:
        limit = settings.REQUEST_BODY_MAX_BYTES
        stream = environ["wsgi.input"]
        # Handed on to the request as its body (closed with it), so not a `with` block here.
        spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115
        size = 0
        while True:
            chunk = stream.read(min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                spool.close()
                environ[BODY_TOO_LARGE] = True
                environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(), "0"
                return
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = spool, str(size)


class RequestBodyLimitMiddleware:
    """Answer 413 to a body over REQUEST_BODY_MAX_BYTES (the evidence total plus a margin for the form's
    fields) before a byte of it is read, whatever the proxy in front does. Runs in `__call__`, before
    any middleware's `process_view` (CSRF) or view reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = _declared_length(request.META) or 0
        if request.META.get(BODY_TOO_LARGE) or length > settings.REQUEST_BODY_MAX_BYTES:
            # The unread body is the server's to discard: gunicorn drains at most 64 KB, then closes.
            if request.path.startswith(API_PREFIX):  # the API's one error shape
                return error_json_response(
                    status_code=413, code=RequestTooLarge.default_code, message=RequestTooLarge.default_detail
                )
            return render(request, "413.html", status=413)
        return self.get_response(request)


class MalformedPathMiddleware:
    """A NUL byte (or another control character) in the path or query string can match no page and
    would only fail deep down (PostgreSQL refuses NUL in text): answer 400 at once."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_control_character(request.path) or _has_control_character(request.META.get("QUERY_STRING", "")):
            if request.path.startswith(API_PREFIX):
                return error_json_response(status_code=400, code="parse_error", message=_("Malformed path or query string."))
            return bad_request(request, exception=None)  # templates/400.html
        return self.get_response(request)


def _has_control_character(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text) or "%00" in text


class NoStoreMiddleware:
    """Pages with personal data — the agent console, the appellant's status page, the admin — must not be
    kept by the browser or a shared cache: `Cache-Control: no-store`."""

    PREFIXES = ("/desk/", "/appeals/status/", "/appeals/submitted/", "/admin/", "/accounts/", "/evidence/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(self.PREFIXES) and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private, max-age=0
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with one override: under /admin/, style-src also allows inline styles
    (Django's admin templates and widgets use style attributes). Scripts stay 'self' only everywhere."""

    ADMIN_PREFIX = "/admin/"

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if not report_only and request.path_info.startswith(self.ADMIN_PREFIX):
            parts.replace = {**(parts.replace or {}), "style-src": [SELF, UNSAFE_INLINE]}
        return parts


class StaffSessionMiddleware:
    """Signed-in staff: an idle timeout (STAFF_SESSION_IDLE_MINUTES), an absolute lifetime
    (STAFF_SESSION_MAX_HOURS) and "sign out everywhere" (tickets/services/staff_sessions.py). A session
    past either limit, or ended everywhere, is signed out and sent to the sign-in page with a message
    saying why. Requests without a session cookie, and the appellants' sessions (no user), are left
    alone; so is the API, which no session authorises."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES and not request.path.startswith(API_PREFIX):
            user = request.user
            if user.is_authenticated:
                reason = staff_session_check(request.session, user)
                if reason is not None:
                    logout(request)  # a new, empty session: the old one is deleted
                    messages.info(request, _signed_out_message(reason))
                    logger.info("Staff session of %s (id %s) ended: %s", user.get_username(), user.pk, reason)
                    # The sign-in page (and signing out) go on, for an anonymous visitor now.
                    if request.path not in (reverse("login"), reverse("logout")):
                        next_page = request.get_full_path() if request.method == "GET" else reverse("desk:queue")
                        return redirect_to_login(next_page)
        return self.get_response(request)


def _signed_out_message(reason: str) -> str:
    if reason == IDLE:
        minutes = settings.STAFF_SESSION_IDLE_MINUTES
        return ngettext(
            "You were signed out after %(count)d minute without activity.",
            "You were signed out after %(count)d minutes without activity.",
            minutes,
        ) % {"count": minutes}
    if reason == ENDED:
        return _("You were signed out: all your sessions were ended (sign out everywhere).")
    hours = settings.STAFF_SESSION_MAX_HOURS
    return ngettext(
        "You were signed out after %(count)d hour: please sign in again.",
        "You were signed out after %(count)d hours: please sign in again.",
        hours,
    ) % {"count": hours}

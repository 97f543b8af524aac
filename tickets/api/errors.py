"""One error shape for every API answer that is not a success, documented in the schema:

    {"error": {"code": "invalid", "message": "…", "fields": {"contact_email": ["…"]}}}

`code` is stable (what a program branches on), `message` is for people, `fields` names each input that
was refused (the form's input names; "__all__" for the request as a whole)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.views import exception_handler

API_PREFIX = "/api/"


def _api_error(name: str, status_code: int, code: str, detail) -> type[exceptions.APIException]:
    """An API exception: its status, its stable `code` and its default message."""
    attributes = {"status_code": status_code, "default_code": code, "default_detail": detail, "__module__": __name__}
    return type(name, (exceptions.APIException,), attributes)


Conflict = _api_error("Conflict", 409, "conflict", gettext_lazy("The request conflicts with the current state."))
IdempotencyKeyReused = _api_error(
    "IdempotencyKeyReused",
    422,
    "idempotency_key_reused",
    gettext_lazy("This Idempotency-Key was already used with a different request."),
)
RequestTooLarge = _api_error(
    "RequestTooLarge", 413, "request_too_large", gettext_lazy("The request body is over the size limit.")
)
TooManyFiles = _api_error("TooManyFiles", 400, "too_many_files", gettext_lazy("Too many files in one request."))
TooManyFields = _api_error("TooManyFields", 400, "too_many_fields", gettext_lazy("Too many fields in one request."))


# Django's own refusals while it parses a body (raised when the view first reads request.POST/FILES).
PARSING_REFUSALS = ((TooManyFilesSent, TooManyFiles), (TooManyFieldsSent, TooManyFields), (RequestDataTooBig, RequestTooLarge))


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": str(message)}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_json_response(*, status_code: int, code: str, message: str) -> JsonResponse:
    """For the guards that answer before any view (body too large, malformed path) under /api/."""
    return JsonResponse(error_body(code=code, message=message), status=status_code)


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [text for value in detail.values() for text in _flatten(value)]
    if isinstance(detail, (list, tuple)):
        return [text for value in detail for text in _flatten(value)]
    return [str(detail)]


def api_exception_handler(exc, context):
    """DRF's handler (status, headers such as Retry-After), then the body in our one shape."""
    for refusal, answer in PARSING_REFUSALS:
        if isinstance(exc, refusal):
            exc = answer()
            break
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: a server error, answered by Django
    if isinstance(exc, Http404):
        code = "not_found"
    elif isinstance(exc, DjangoPermissionDenied):
        code = "permission_denied"
    else:
        code = getattr(exc, "default_code", "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = {str(name): _flatten(value) for name, value in detail.items()} if isinstance(detail, dict) else {}
        if not isinstance(detail, dict):
            fields = {"__all__": _flatten(detail)}
        response.data = error_body(code="invalid", message=_("Some fields were refused: see fields."), fields=fields)
    else:
        # DRF's own answer ({"detail": …}), also for Django's Http404 and PermissionDenied.
        response.data = error_body(code=code, message=" ".join(_flatten(response.data)))
    return response


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs: invalid, parse_error, not_authenticated, …")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Each refused input by its name, with its messages (400 only).",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Malformed request (`parse_error`, `too_many_files`, `too_many_fields`) or refused fields (`invalid`, "
    "with `fields` naming each input).",
    401: "No API key, or an unknown, revoked or expired one (`not_authenticated`, `authentication_failed`).",
    403: "The API key lacks the scope this endpoint asks (`permission_denied`).",
    404: "No such resource for this integration (`not_found`).",
    409: "The resource's state does not allow this (`conflict`).",
    413: "The request body is over the size limit (`request_too_large`); nothing was read or stored.",
    415: "Not a multipart/form-data body (`unsupported_media_type`).",
    422: "The Idempotency-Key was used before with another request (`idempotency_key_reused`).",
    429: "Over the API key's rate limit (`throttled`); Retry-After says when to try again.",
}


def error_responses(*statuses: int) -> dict:
    """The documented error answers of an endpoint, for `extend_schema(responses=…)`."""
    return {code: OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]) for code in statuses}

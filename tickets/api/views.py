"""The platform API's endpoints (`/api/v1/`). Each authenticates the API key, checks its scope and its
rate limit (REST_FRAMEWORK in settings), validates, and calls the same services and selectors as the
public pages: an appeal filed here goes through the form's validation and `appeal_submit`."""

import json
import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import Scope
from integrations.selectors import integration_event_page
from tickets.fresh_photo import fresh_photo_code_issue
from tickets.models import Appeal, FulfilmentState
from tickets.portal.forms import AppealSubmissionForm
from tickets.selectors import appeal_for_integration, appeal_type_get_active
from tickets.services.errors import WorkflowError
from tickets.services.fulfilment import appeal_fulfilment_report
from tickets.services.hold import appeal_registered_contacts_add
from tickets.services.intake import appeal_submit

from . import schema  # noqa: F401 - registers the API key's security scheme
from .errors import Conflict, error_responses
from .idempotency import HEADER, IdempotentPostView
from .permissions import HasScope
from .serializers import (
    CONTACT_KINDS,
    MAX_REGISTERED_CONTACTS,
    AppealCreatedSerializer,
    AppealStatusSerializer,
    AppealSubmissionSerializer,
    FreshPhotoCodeRequestSerializer,
    FreshPhotoCodeSerializer,
    FulfilmentReportSerializer,
    IntegrationEventPageSerializer,
    IntegrationEventSerializer,
    RegisteredContactsAddedSerializer,
    RegisteredContactsRequestSerializer,
)

PHONE = re.compile(r"\+?[0-9][0-9 ()-]{2,30}")
EVENTS_PAGE_DEFAULT, EVENTS_PAGE_MAX = 50, 200
IDEMPOTENCY_HEADER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="Makes a retry safe (≤ 255 characters)."
)


def _contacts_refused(message=None) -> ValidationError:
    message = message or _('A JSON list of at most %(n)d {"kind": "email" or "phone", "value": "…"}.') % {
        "n": MAX_REGISTERED_CONTACTS
    }
    return ValidationError({"registered_contacts": [message]})


def registered_contacts_parse(raw: str) -> list[dict]:
    """The account's contacts as the platform holds them: a JSON list of {"kind", "value"} (a multipart
    field of `POST /api/v1/appeals/`)."""
    if not raw:
        return []
    try:
        contacts = json.loads(raw)
    except ValueError:
        raise _contacts_refused() from None
    return registered_contacts_check(contacts)


def registered_contacts_check(contacts) -> list[dict]:
    """The same list already decoded (the JSON body of the registered-contacts endpoint)."""
    if not isinstance(contacts, list) or len(contacts) > MAX_REGISTERED_CONTACTS:
        raise _contacts_refused()
    for contact in contacts:
        if not (
            isinstance(contact, dict)
            and set(contact) == {"kind", "value"}
            and contact["kind"] in CONTACT_KINDS
            and isinstance(contact["value"], str)
            and _contact_valid(contact["kind"], contact["value"])
        ):
            raise _contacts_refused()
    return contacts


def registered_contacts_given(*, appeal: Appeal, data) -> list[dict]:
    """The contacts in the body of the registered-contacts endpoint, each once. Refused as a whole
    (nothing stored) when malformed or empty, or when the appeal would then hold more than
    MAX_REGISTERED_CONTACTS (a concurrent request may pass the count by a few: it bounds, it does not
    count exactly)."""
    given = registered_contacts_check(data.get("registered_contacts") if isinstance(data, dict) else None)
    if not given:
        raise _contacts_refused(_("Give at least one contact."))
    unique = {}
    for contact in given:
        unique.setdefault((contact["kind"], contact["value"].lower()), contact)
    held = appeal.registered_contacts or []
    known = {(c.get("kind"), str(c.get("value", "")).lower()) for c in held if isinstance(c, dict)}
    if len(held) + len(unique.keys() - known) > MAX_REGISTERED_CONTACTS:
        raise _contacts_refused(
            _("An appeal holds at most %(n)d registered contacts; this one holds %(held)d.")
            % {"n": MAX_REGISTERED_CONTACTS, "held": len(held)}
        )
    return list(unique.values())


def _contact_valid(kind: str, value: str) -> bool:
    if kind == "phone":
        return PHONE.fullmatch(value) is not None
    try:
        validate_email(value)
    except DjangoValidationError:
        return False
    return True


def with_record_management(data, appeal_type):
    """The form's record rows (`recharge-0-order_number`, …) without the page's management fields: the
    row count is taken from the rows sent."""
    if not appeal_type.collects_records:
        return data
    data = data.copy()
    for prefix in ("recharge", "device"):
        if f"{prefix}-TOTAL_FORMS" not in data:
            rows = {int(m.group(1)) for name in data if (m := re.fullmatch(rf"{prefix}-(\d{{1,4}})-\w+", name))}
            data[f"{prefix}-TOTAL_FORMS"] = str(max(rows) + 1 if rows else 0)
            data[f"{prefix}-INITIAL_FORMS"] = "0"
    return data


def _appeal_type_or_400(code: str):
    try:
        return appeal_type_get_active(code=code)
    except Http404:
        raise ValidationError({"appeal_type": [_("No active appeal type has this code.")]}) from None


@extend_schema_view(
    post=extend_schema(
        operation_id="appeal_create",
        summary="File an appeal",
        description=(
            "Files an appeal for a user the platform already knows, through the same validation and the same "
            "service as the public form. Scope `appeals:write`. The form's record rows (`recharge-0-order_number`, "
            "`device-0-seen_at`, …) are accepted as on the form. With an `Idempotency-Key`, a retry gets the "
            "first answer (header `Idempotent-Replayed: true`) and creates nothing; the same key with another "
            "request is refused (422)."
        ),
        request={"multipart/form-data": AppealSubmissionSerializer},
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: AppealCreatedSerializer, **error_responses(400, 401, 403, 413, 415, 422, 429)},
    )
)
class AppealCreateView(IdempotentPostView):
    permission_classes = [HasScope(Scope.APPEALS_WRITE)]
    parser_classes = [MultiPartParser]

    def prepare(self, request):
        appeal_type = _appeal_type_or_400(request.POST.get("appeal_type", ""))
        contacts = registered_contacts_parse(request.POST.get("registered_contacts", ""))
        form = AppealSubmissionForm(
            appeal_type=appeal_type, data=with_record_management(request.POST, appeal_type), files=request.FILES
        )
        if not form.is_valid():
            raise ValidationError(form.errors_by_input_name())

        def create() -> tuple[int, dict]:
            fields = form.appeal_fields
            # The platform's contacts, then the address the appellant named (`account_email`) unless it is one of them.
            platform = {(c["kind"], c["value"].lower()) for c in contacts}
            named = [c for c in fields.get("registered_contacts", []) if (c["kind"], c["value"].lower()) not in platform]
            try:
                appeal = appeal_submit(
                    appeal_type=appeal_type,
                    fields={**fields, "integration": request.auth.integration, "registered_contacts": [*contacts, *named]},
                    id_number=form.appeal.cleaned_data["id_number"],
                    recharge_rows=form.recharge_rows,
                    device_rows=form.device_rows,
                    files=form.uploads.files_to_store(),
                    ip=None,  # the platform's server, not the appellant: no address-based fraud signal
                )
            except DjangoValidationError as refused:  # the velocity cap, counted again under its lock
                raise ValidationError({"__all__": refused.messages}) from refused
            return status.HTTP_201_CREATED, AppealCreatedSerializer(appeal, context={"request": request}).data

        return create


class FreshPhotoCodeView(APIView):
    permission_classes = [HasScope(Scope.APPEALS_WRITE)]

    @extend_schema(
        operation_id="fresh_photo_code_issue",
        summary="Issue a fresh-photo code",
        description=(
            "Scope `appeals:write`. For the types that ask for the photo of the appellant holding their ID card "
            "(`id_handheld`): show `code` to the appellant, who writes it on paper and holds it with the ID card "
            "in that photo; send `token` as `fresh_photo_token` with the appeal, of the same type, before "
            "`expires_at`. A token of another type, altered or expired is refused (400, under `fresh_photo_token`)."
        ),
        request=FreshPhotoCodeRequestSerializer,
        responses={201: FreshPhotoCodeSerializer, **error_responses(400, 401, 403, 429)},
    )
    def post(self, request):
        asked = FreshPhotoCodeRequestSerializer(data=request.data)
        asked.is_valid(raise_exception=True)
        issued = fresh_photo_code_issue(appeal_type=_appeal_type_or_400(asked.validated_data["appeal_type"]))
        return Response(FreshPhotoCodeSerializer(issued).data, status=status.HTTP_201_CREATED)


class AppealDetailView(APIView):
    permission_classes = [HasScope(Scope.APPEALS_READ)]

    @extend_schema(
        operation_id="appeal_status",
        summary="An appeal's public status",
        description="Scope `appeals:read`. Only the integration's own appeals (404 for any other).",
        responses={200: AppealStatusSerializer, **error_responses(400, 401, 403, 404, 429)},
    )
    def get(self, request, reference: str):
        appeal = appeal_for_integration(integration=request.auth.integration, reference=reference)
        return Response(AppealStatusSerializer(appeal, context={"request": request}).data)


class EventListView(APIView):
    permission_classes = [HasScope(Scope.APPEALS_READ)]

    @extend_schema(
        operation_id="event_list",
        summary="Events after a cursor",
        description=(
            "Scope `appeals:read`. The integration's events, oldest first, after the cursor `after` (keyset "
            "pagination: keep `next` and ask again with it; the same events the webhooks deliver)."
        ),
        parameters=[
            OpenApiParameter(
                "after", OpenApiTypes.STR, description="A cursor from `next` or an event's `id`; none: from the start."
            ),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {EVENTS_PAGE_MAX}, default {EVENTS_PAGE_DEFAULT}."),
        ],
        responses={200: IntegrationEventPageSerializer, **error_responses(400, 401, 403, 429)},
    )
    def get(self, request):
        after = request.query_params.get("after", "")
        limit = request.query_params.get("limit", "")
        errors = {}
        if after and not (after.isascii() and after.isdigit() and len(after) <= 18):
            errors["after"] = [_("A cursor from a previous page's next.")]
        if limit and not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= EVENTS_PAGE_MAX):
            errors["limit"] = [_("A number from 1 to %(max)d.") % {"max": EVENTS_PAGE_MAX}]
        if errors:
            raise ValidationError(errors)
        rows, has_more = integration_event_page(
            integration=request.auth.integration, after=int(after) if after else None, limit=int(limit or EVENTS_PAGE_DEFAULT)
        )
        next_cursor = str(rows[-1].pk) if rows else (after or None)
        body = {"results": IntegrationEventSerializer(rows, many=True).data, "next": next_cursor, "has_more": has_more}
        return Response(body)


class FulfilmentReportView(APIView):
    permission_classes = [HasScope(Scope.FULFILMENT_WRITE)]

    @extend_schema(
        operation_id="fulfilment_report",
        summary="Report an approval carried out, or not",
        description=(
            "Scope `fulfilment:write`. After `appeal.released`, the platform performs the unbind or rebind and "
            "reports `done`, or `failed` with a detail for the agents. The appellant is told (page and e-mail); "
            "a failure alerts the agent and the supervisors. The same outcome again changes nothing (safe to "
            "retry); `done` after `failed` is accepted. 409 for an appeal that was not released (undecided, "
            "rejected) or already reported done."
        ),
        request=FulfilmentReportSerializer,
        responses={200: AppealStatusSerializer, **error_responses(400, 401, 403, 404, 409, 429)},
    )
    def post(self, request, reference: str):
        report = FulfilmentReportSerializer(data=request.data)
        report.is_valid(raise_exception=True)
        appeal = appeal_for_integration(integration=request.auth.integration, reference=reference)
        try:
            appeal_fulfilment_report(
                appeal=appeal,
                outcome=report.validated_data["outcome"],
                detail=report.validated_data.get("detail", ""),
                integration=request.auth.integration,
            )
        except WorkflowError as exc:
            raise Conflict(detail=exc.message) from exc
        appeal = appeal_for_integration(integration=request.auth.integration, reference=reference)
        return Response(AppealStatusSerializer(appeal, context={"request": request}).data)


@extend_schema_view(
    post=extend_schema(
        operation_id="registered_contacts_add",
        summary="Give an appeal's registered contacts",
        description=(
            "Scope `appeals:write`. The account's contacts as the platform holds them, for an appeal filed on the "
            "public form (heard of through `appeal.submitted`), or more of them for one filed through the API: the "
            "same format and rules as `registered_contacts` there, at least one, at most "
            f"{MAX_REGISTERED_CONTACTS} per appeal. A contact the appeal already holds is kept once. While the "
            "approval is held (`appeal.held`), each new e-mail address is told at once and may stop the release; "
            "sent again, it tells no one. Only the integration's own appeals, and those of the public form if it "
            "receives them (404 for any other). With an `Idempotency-Key`, a retry gets the first answer (header "
            "`Idempotent-Replayed: true`); the same key with another request is refused (422)."
        ),
        request=RegisteredContactsRequestSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: RegisteredContactsAddedSerializer, **error_responses(400, 401, 403, 404, 415, 422, 429)},
    )
)
class RegisteredContactsView(IdempotentPostView):
    permission_classes = [HasScope(Scope.APPEALS_WRITE)]

    def prepare(self, request, reference: str):
        appeal = appeal_for_integration(integration=request.auth.integration, reference=reference)
        contacts = registered_contacts_given(appeal=appeal, data=request.data)

        def add() -> tuple[int, dict]:
            added, told = appeal_registered_contacts_add(appeal=appeal, contacts=contacts)
            answer = {
                "reference": added.reference,
                "contacts": len(added.registered_contacts),
                "told_now": told,
                "hold_until": added.hold_until if added.fulfilment == FulfilmentState.HELD else None,
            }
            return status.HTTP_200_OK, RegisteredContactsAddedSerializer(answer).data

        return add

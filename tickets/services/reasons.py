"""Structured reasons (issue 18, item 3): the reason codes a request for information names, one per
evidence kind asked for, and the one a rejection carries. Checked before anything is written (each bad
input has its own message, and nothing is stored); written beside the action's event; a request's
slots are answered by the files the appellant sends."""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Appeal, AppealEvent, AppealReason, EvidenceKind, ReasonCode, evidence_kind_label
from tickets.reference import reason_codes_active_cached

from .errors import WorkflowError


@dataclass(frozen=True)
class RequestedFile:
    """One upload slot a request asks for: an evidence kind and why."""

    evidence_kind: str
    reason: ReasonCode


def _code_get(code: str) -> ReasonCode:
    found = ReasonCode.objects.filter(code=(code or "").strip()).first()
    if found is None:
        raise WorkflowError(_("Unknown reason code “%(code)s”.") % {"code": code})
    if not found.is_active:
        raise WorkflowError(_("The reason “%(label)s” is no longer in use: choose another.") % {"label": found.label})
    return found


def requested_files_check(items) -> list[RequestedFile]:
    """The (evidence kind, reason code) pairs of a request, checked: at least one; known, active codes
    for requests; a known kind (or the one the code is about, when none is chosen) that fits the code;
    each kind once. Raises WorkflowError with the first problem."""
    items = [(str(kind or "").strip(), str(code or "").strip()) for kind, code in items or ()]
    items = [(kind, code) for kind, code in items if kind or code]
    if not items:
        raise WorkflowError(_("Name at least one file the appellant must send, each with its reason."))
    checked, seen = [], set()
    for kind, code in items:
        if kind and kind not in EvidenceKind.values:
            raise WorkflowError(_("Unknown evidence kind “%(kind)s”.") % {"kind": kind})
        if not code:
            raise WorkflowError(_("Choose a reason for: %(kind)s.") % {"kind": evidence_kind_label(kind)})
        reason = _code_get(code)
        if not reason.for_requests:
            raise WorkflowError(
                _("“%(label)s” is a reason for rejections, not for requests for information.") % {"label": reason.label}
            )
        kind = kind or reason.evidence_kind
        if not kind:
            raise WorkflowError(_("Choose which file “%(label)s” is about.") % {"label": reason.label})
        if reason.evidence_kind and reason.evidence_kind != kind:
            raise WorkflowError(
                _("“%(label)s” is about %(about)s, not %(kind)s.")
                % {"label": reason.label, "about": evidence_kind_label(reason.evidence_kind), "kind": evidence_kind_label(kind)}
            )
        if kind in seen:
            raise WorkflowError(
                _("%(kind)s is asked for twice: give one reason for each file.") % {"kind": evidence_kind_label(kind)}
            )
        seen.add(kind)
        checked.append(RequestedFile(evidence_kind=kind, reason=reason))
    return checked


def rejection_reason_check(code: str) -> ReasonCode:
    """A rejection's reason code, checked: given, known, active and for rejections."""
    if not (code or "").strip():
        raise WorkflowError(_("Choose the reason for the rejection from the list."))
    reason = _code_get(code)
    if not reason.for_rejections:
        raise WorkflowError(
            _("“%(label)s” is a reason for requests for information, not for rejections.") % {"label": reason.label}
        )
    return reason


def requested_files_record(*, appeal: Appeal, event: AppealEvent, files: list[RequestedFile]) -> list[AppealReason]:
    return AppealReason.objects.bulk_create(
        AppealReason(appeal=appeal, event=event, use=AppealReason.Use.REQUEST, reason=f.reason, evidence_kind=f.evidence_kind)
        for f in files
    )


def rejection_reason_record(*, appeal: Appeal, event: AppealEvent, reason: ReasonCode) -> AppealReason:
    return AppealReason.objects.create(
        appeal=appeal, event=event, use=AppealReason.Use.REJECTION, reason=reason, evidence_kind=reason.evidence_kind
    )


def requested_files_open(*, appeal: Appeal) -> list[AppealReason]:
    """The slots of the appeal's latest request for information not answered yet, in the order asked."""
    latest = AppealReason.objects.filter(appeal=appeal, use=AppealReason.Use.REQUEST).order_by("-event_id").first()
    if latest is None:
        return []
    return list(
        AppealReason.objects.filter(event_id=latest.event_id, use=AppealReason.Use.REQUEST, answered_at__isnull=True)
        .select_related("reason")
        .order_by("pk")
    )


def requested_files_answer(*, appeal: Appeal, added) -> int:
    """The appellant sent files (`added`, Evidence rows): each open slot of their kind is answered by the
    first of them. Returns how many slots were answered."""
    first_of_kind = {}
    for evidence in added:
        first_of_kind.setdefault(evidence.kind, evidence)
    answered, now = 0, timezone.now()
    for slot in requested_files_open(appeal=appeal):
        evidence = first_of_kind.get(slot.evidence_kind)
        if evidence is not None:
            slot.answered_at, slot.answered_by = now, evidence
            slot.save(update_fields=["answered_at", "answered_by"])
            answered += 1
    return answered


def rejection_reason_of(*, appeal: Appeal) -> AppealReason | None:
    """The reason code of the appeal's latest rejection (None: not rejected with a code)."""
    return (
        AppealReason.objects.filter(appeal=appeal, use=AppealReason.Use.REJECTION)
        .select_related("reason")
        .order_by("-event_id")
        .first()
    )


# How many (kind, reason) rows the console's request form offers; more than there are kinds is refused.
REQUEST_ROWS = 3


def reason_codes_for_console(*, request: bool, rejection: bool) -> dict:
    """What the console's request and rejection forms offer: the active codes (cached, as the console's
    other reference data), only when the page shows one of those actions."""
    if not (request or rejection):
        return {}
    codes = reason_codes_active_cached()
    return {
        "rows": range(1, REQUEST_ROWS + 1),
        "kinds": EvidenceKind.choices,
        "request_codes": [c for c in codes if c.for_requests],
        "rejection_codes": [c for c in codes if c.for_rejections],
    }

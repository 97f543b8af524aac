"""Audit rows, one named writer per event kind (STYLE.md §9). Services call these; nothing else
builds an `AppealEvent`."""

from .models import Appeal, AppealEvent


def _evidence_label(evidence) -> str:
    return f"{evidence.get_kind_display()}: {evidence.original_name}"


def appeal_comment_event(*, appeal: Appeal, actor, text: str, public: bool) -> AppealEvent:
    """An internal note (staff only) or a public reply (shown to the appellant and e-mailed)."""
    return AppealEvent.objects.create(
        appeal=appeal,
        kind=AppealEvent.Kind.REPLY if public else AppealEvent.Kind.NOTE,
        actor=actor,
        comment=text,
        public=public,
    )


def evidence_verified_event(*, evidence, actor, verified: bool) -> AppealEvent:
    return AppealEvent.objects.create(
        appeal=evidence.appeal,
        actor=actor,
        public=False,
        comment=_evidence_label(evidence),
        kind=AppealEvent.Kind.EVIDENCE_VERIFIED if verified else AppealEvent.Kind.EVIDENCE_UNVERIFIED,
    )


def evidence_refused_event(*, evidence, message: str) -> AppealEvent:
    """Processing refused a file: the appellant sees why on the status page."""
    return AppealEvent.objects.create(
        appeal=evidence.appeal,
        kind=AppealEvent.Kind.EVIDENCE_REJECTED,
        actor_label="system",
        public=True,
        comment=f"{evidence.original_name}: {message}",
    )


def evidence_replaced_event(*, refused, replacement) -> AppealEvent:
    """The appellant sent a new file in place of a refused one."""
    return AppealEvent.objects.create(
        appeal=replacement.appeal,
        kind=AppealEvent.Kind.EVIDENCE_REPLACED,
        actor_label="appellant",
        public=True,
        comment=f"{refused.get_kind_display()}: {refused.original_name} → {replacement.original_name}",
    )

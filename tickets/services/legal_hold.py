"""The legal hold (SPEC §6): an appeal under it keeps its evidence files past the retention period.
Placed or lifted by an administrator (the Django admin calls this service), recorded on the appeal's
timeline for the staff."""

from django.db import transaction
from django.utils.translation import gettext as _

from tickets.events import appeal_legal_hold_set_event
from tickets.models import Appeal

from .errors import WorkflowError


@transaction.atomic
def appeal_legal_hold_set(*, appeal: Appeal, actor, on: bool, reason: str = "") -> Appeal:
    """Place the appeal under legal hold with `reason`, or lift the hold (the stored reason is cleared;
    `reason` then says why it was lifted). Nothing is written when nothing changes."""
    if not actor.has_perm("tickets.change_appeal"):
        raise WorkflowError(_("You are not allowed to change the legal hold of an appeal."))
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    reason = (reason or "").strip()
    kept_reason = reason if on else ""
    if (appeal.legal_hold, appeal.legal_hold_reason) == (on, kept_reason):
        return appeal
    appeal.legal_hold, appeal.legal_hold_reason = on, kept_reason
    appeal.save(update_fields=["legal_hold", "legal_hold_reason", "updated_at"])
    appeal_legal_hold_set_event(appeal=appeal, actor=actor, on=on, reason=reason)
    return appeal

"""Scheduled appeal services, run by beat: appeals the appellant left waiting are closed."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tickets.assignment.services import assignment_after_commit
from tickets.events import appeal_abandoned_event
from tickets.models import Appeal, AppealState
from tickets.outbox.services import appellant_email_enqueue


def appeal_abandon_stale(*, now=None, days: int = 14) -> list[str]:
    """Close appeals that have waited on the appellant for `days` (scheduled; idempotent: each appeal
    is taken with SKIP LOCKED and re-checked under its lock)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    closed = []
    # In the order of its partial index (appeal_abandon_pending), never the default -created_at: the
    # longest waiting first, and PostgreSQL stops at the first one not yet stale.
    candidates = (
        Appeal.objects.filter(state=AppealState.AWAITING_INFO, sla_paused_at__lte=cutoff)
        .order_by("sla_paused_at")
        .values_list("pk", flat=True)
    )
    for pk in list(candidates[:500]):
        with transaction.atomic():
            appeal = (
                Appeal.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=AppealState.AWAITING_INFO, sla_paused_at__lte=cutoff)
                .order_by("pk")
                .first()
            )
            if appeal is None:
                continue
            appeal.abandon()
            appeal.save()
            appeal_abandoned_event(appeal=appeal, from_state=AppealState.AWAITING_INFO)
            appellant_email_enqueue(appeal=appeal, template="abandoned", days=days)
            assignment_after_commit(agent_ids=[appeal.assignee_id])  # its holder has a place free
            closed.append(appeal.reference)
    return closed

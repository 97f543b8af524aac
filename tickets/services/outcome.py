"""Learning from outcomes (issue 16, item 5): a supervisor records what a decided appeal turned out to
be — a confirmed takeover attempt or a false alarm — and a random sample of approvals is drawn for
their review. The metrics page (tickets/reports/metrics.py) turns the outcomes into each risk signal's
precision and the approvals later found wrong."""

import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.events import appeal_outcome_recorded_event
from tickets.models import DECIDED_STATES, Appeal, Outcome
from tickets.roles import is_supervisor

from .errors import WorkflowError


def review_sample_draw() -> bool:
    """Whether an approval goes to the supervisors' review sample: RISK_REVIEW_SAMPLE_PERCENT percent
    of them, drawn with the system's random source (nobody can predict which)."""
    return secrets.randbelow(10_000) < round(settings.RISK_REVIEW_SAMPLE_PERCENT * 100)


@transaction.atomic
def appeal_outcome_record(*, appeal: Appeal, actor, outcome: str, note: str = "") -> Appeal:
    """Record (or change) the outcome of a decided appeal; supervisors only. Nothing is written when
    nothing changes."""
    if not is_supervisor(actor):
        raise WorkflowError(_("Only a supervisor can record the outcome of an appeal."))
    if outcome not in Outcome.values:
        raise WorkflowError(_("Choose an outcome."))
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if appeal.state not in DECIDED_STATES:
        raise WorkflowError(_("An outcome can be recorded only once the appeal is approved or rejected."))
    if appeal.outcome == outcome:
        return appeal
    appeal.outcome, appeal.outcome_by, appeal.outcome_at = outcome, actor, timezone.now()
    appeal.save(update_fields=["outcome", "outcome_by", "outcome_at", "updated_at"])
    appeal_outcome_recorded_event(appeal=appeal, actor=actor, note=(note or "").strip())
    return appeal

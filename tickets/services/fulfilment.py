"""The fulfilment loop: an approved appeal is released to the platform, which carries it out (the
unbind, the rebind…) and reports `done` or `failed`; the appellant is told, and a failure or a
release left unreported past FULFILMENT_OVERDUE_HOURS alerts the assignee and the supervisors.

Every change goes through the `fulfilment` FSMField's transitions (tickets/models.py) inside one of
these services, which lock the row, run the transition, save, write the audit event and queue the
e-mails through the outbox, in one transaction.

The platform hears of it by webhook (and by polling the API's events): `appeal.released` from
`appeal_release` and `appeal_release_again`, `appeal.fulfilment_overdue` from the overdue sweep, each
written in the same transaction as the change.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_event_record, integration_events_record_bulk
from tickets.events import (
    appeal_fulfilment_overdue_events,
    appeal_fulfilment_reported_event,
    appeal_release_again_event,
    appeal_released_event,
)
from tickets.models import Appeal, AppealState, FulfilmentOverdue, FulfilmentState
from tickets.outbox.services import appellant_email_enqueue, outbox_enqueue
from tickets.roles import SUPERVISORS

from .errors import WorkflowError

logger = logging.getLogger(__name__)

DONE, FAILED = FulfilmentState.DONE, FulfilmentState.FAILED
OUTCOMES = (DONE, FAILED)
DETAIL_MAX_CHARS = 2000
BATCH = 500


def _locked(appeal: Appeal) -> Appeal:
    return Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=appeal.pk)


@transaction.atomic
def appeal_release(*, appeal: Appeal) -> Appeal:
    """Release an approved appeal to the platform, to be carried out, at once: called in the approval's
    transaction by tickets/services/hold.py when the approval is not held (held ones are released by
    its sweep)."""
    appeal = _locked(appeal)
    if appeal.fulfilment != FulfilmentState.NOT_RELEASED:
        return appeal  # released already: once per approval
    if appeal.state != AppealState.APPROVED:
        raise WorkflowError(_("Only an approved appeal can be released to the platform."))
    appeal.release()
    appeal.save()
    appeal_released_event(appeal=appeal)
    integration_event_record(type=IntegrationEvent.Type.RELEASED, appeal=appeal)
    return appeal


def _release_again_transition(appeal: Appeal):
    if appeal.state != AppealState.APPROVED:
        return None
    return appeal.release_again._django_fsm.get_transition(appeal.fulfilment)  # noqa: SLF001 - django-fsm's metadata


def may_release_again(*, appeal: Appeal, user) -> bool:
    """The console shows "Release again" for a failed fulfilment to its assignee and the supervisors."""
    transition = _release_again_transition(appeal)
    return transition is not None and transition.has_perm(appeal, user)


@transaction.atomic
def appeal_release_again(*, appeal: Appeal, actor, comment: str = "") -> Appeal:
    """The assignee or a supervisor releases a failed fulfilment again (the platform will retry it)."""
    appeal = _locked(appeal)
    transition = _release_again_transition(appeal)
    if transition is None:
        raise WorkflowError(_("Only a fulfilment that failed can be released again."))
    if not transition.has_perm(appeal, actor):
        raise WorkflowError(_("Only the agent handling this appeal or a supervisor can release it again."))
    appeal.release_again(by=actor)
    appeal.save()
    appeal_release_again_event(appeal=appeal, actor=actor, comment=(comment or "").strip())
    integration_event_record(type=IntegrationEvent.Type.RELEASED, appeal=appeal)
    return appeal


@transaction.atomic
def appeal_fulfilment_report(*, appeal: Appeal, outcome: str, detail: str = "", integration=None) -> Appeal:
    """The platform reports an approved appeal carried out (`done`) or not (`failed`, with why).

    Idempotent: the same outcome again (a platform's retry) changes nothing and sends nothing. `done`
    after `failed` is accepted (the platform retried on its side). A report for an appeal that was not
    released (undecided, rejected, or held) raises WorkflowError and stores nothing (the API: 409).
    `integration` is the reporting platform, for the audit trail."""
    if outcome not in OUTCOMES:
        raise WorkflowError(_("The outcome must be “done” or “failed”."))
    detail = (detail or "").strip()[:DETAIL_MAX_CHARS]
    appeal = _locked(appeal)
    if appeal.fulfilment == outcome:
        return appeal
    if appeal.fulfilment == FulfilmentState.NOT_RELEASED:
        raise WorkflowError(_("This appeal has not been released to the platform: there is nothing to carry out."))
    if appeal.fulfilment == DONE:
        raise WorkflowError(_("This appeal was already reported carried out."))
    if outcome == DONE:
        appeal.report_done(detail=detail)
    else:
        appeal.report_failed(detail=detail)
    appeal.save()
    appeal_fulfilment_reported_event(appeal=appeal, integration=integration)
    appellant_email_enqueue(appeal=appeal, template="fulfilment_reported")
    if outcome == FAILED:
        _alert(kind=FAILED, appeals=[appeal])
    return appeal


def staff_recipients(appeals: list[Appeal]) -> dict[str, list[Appeal]]:
    """Who is alerted about these appeals: each one's assignee, and every supervisor."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    supervisors = {u.email.strip().lower() for u in users.filter(groups__name=SUPERVISORS).distinct()}
    recipients: dict[str, list[Appeal]] = {email: list(appeals) for email in supervisors}
    for appeal in appeals:
        assignee = appeal.assignee
        if assignee is not None and assignee.is_active and assignee.email:
            email = assignee.email.strip().lower()
            if appeal not in recipients.setdefault(email, []):
                recipients[email].append(appeal)
    return recipients


def _alert(*, kind: str, appeals: list[Appeal]) -> int:
    """One staff e-mail per recipient (in the site's language), listing their appeals. Returns how many."""
    recipients = staff_recipients(appeals)
    for email, theirs in sorted(recipients.items()):
        rows = [
            {
                "reference": a.reference,
                "type": a.appeal_type.name,
                "released_at": a.released_at,
                "detail": a.fulfilment_detail if kind == FAILED else "",
                "url": f"{settings.SITE_URL}{reverse('desk:appeal', args=[a.reference])}",
            }
            for a in sorted(theirs, key=lambda a: (a.released_at, a.reference))
        ]
        outbox_enqueue(
            template="fulfilment_alert",
            to=email,
            language=settings.LANGUAGE_CODE,
            appeal=theirs[0] if len(theirs) == 1 else None,
            context={
                "kind": kind,
                "rows": rows,
                "count": len(rows),
                "hours": settings.FULFILMENT_OVERDUE_HOURS,
                "console_url": f"{settings.SITE_URL}{reverse('desk:queue')}?queue=fulfilment",
            },
        )
    return len(recipients)


def fulfilment_overdue_sweep(*, now=None) -> list[str]:
    """Alert on every release left unreported for FULFILMENT_OVERDUE_HOURS, once per appeal and
    release. Reads only what is due (the partial index `appeal_fulfilment_overdue`); rows are taken
    with FOR UPDATE SKIP LOCKED, one transaction per batch, each alert recorded as a FulfilmentOverdue
    (unique per appeal and release): running it twice, or twice at once, alerts once. Returns the
    references alerted."""
    now = now or timezone.now()
    released_before = now - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS)
    alerted: list[str] = []
    while True:
        taken, done = _overdue_batch(now=now, released_before=released_before)
        alerted += done
        if taken < BATCH:
            break
    if alerted:
        logger.info("fulfilment sweep: %d overdue", len(alerted))
    return alerted


@transaction.atomic
def _overdue_batch(*, now, released_before) -> tuple[int, list[str]]:
    due = list(
        Appeal.objects.due_for_fulfilment_overdue(released_before)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("appeal_type", "assignee")[:BATCH]
    )
    recorded = []
    for appeal in due:  # overdue releases are few: a row each, its unique key settling any race
        _record, created = FulfilmentOverdue.objects.get_or_create(appeal=appeal, release=appeal.fulfilment_release)
        if created:
            recorded.append(appeal)
    Appeal.objects.filter(pk__in=[a.pk for a in due]).update(fulfilment_overdue_at=now, updated_at=now)
    for appeal in recorded:
        appeal.fulfilment_overdue_at = now
    if recorded:
        appeal_fulfilment_overdue_events(appeals=recorded, hours=settings.FULFILMENT_OVERDUE_HOURS)
        integration_events_record_bulk(type=IntegrationEvent.Type.FULFILMENT_OVERDUE, appeals=recorded)
        _alert(kind="overdue", appeals=recorded)
    return len(due), [a.reference for a in recorded]

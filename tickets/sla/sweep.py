"""The SLA sweep (SPEC §5): warnings at 75 %, escalation at 100 %, administrators 24 h after escalation.

Each batch of a sweep is one transaction. It takes the due rows with SELECT … FOR UPDATE SKIP LOCKED (a
concurrent sweep skips them), records each action as an `SlaEvent` (unique per appeal, kind and
cycle; one INSERT … ON CONFLICT DO NOTHING per batch, and an appeal whose event already exists is
skipped), advances the appeal's `sla_stage` (so its partial index no longer covers it) with one
UPDATE per kind — for breaches after running the `escalate` transition on each appeal in memory,
the UPDATE writing what the transitions set, with their audit events in one INSERT — and writes one
alert e-mail per recipient and kind to the outbox, all committed together. Running it twice, or two
at once, never acts twice.

What it reads: each selector (`Appeal.objects.due_for_*`) matches one partial index and is ordered
by that index's column, so PostgreSQL reads the due end of the index and stops at LIMIT or at the
first row not yet due; an idle sweep reads no rows. Never let the model's default order (`-created_at`)
in: on a production table (decided appeals, due long past, beside the open ones) the planner then
walks the whole table backwards, filtering out every row — seconds per sweep instead of a
millisecond (tests/tickets/test_sla_scale.py explains the exact statements on such data).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_events_record_bulk
from tickets.events import sla_breach_escalated_events
from tickets.models import Appeal, AppealState, AppealType, SlaEvent, SlaStage
from tickets.outbox.services import outbox_enqueue
from tickets.roles import AGENTS, SUPERVISORS

logger = logging.getLogger(__name__)

ESCALATABLE = (AppealState.SUBMITTED, AppealState.IN_REVIEW, AppealState.PENDING_APPROVAL)
BATCH = 1000
MAX_BATCHES = 50  # a sweep handles up to 50,000 of each kind; the next sweep takes any rest


@dataclass
class SweepReport:
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    second_breached: list[str] = field(default_factory=list)
    emails: int = 0

    def __str__(self) -> str:
        return (
            f"warned {len(self.warned)}, breached {len(self.breached)} (escalated {len(self.escalated)}), "
            f"breached again after escalation {len(self.second_breached)}, alert e-mails {self.emails}"
        )


def _emails(users) -> list[str]:
    return sorted({u.email.strip().lower() for u in users if u.email and u.is_active})


def _staff(*, group: str | None = None, superusers: bool = False):
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return users.filter(is_superuser=True) if superusers else users.filter(Q(groups__name=group)).distinct()


# What a batch reads of each row: the columns the sweep, the transition and the alert use (an appeal's
# letter and consent texts alone can be kilobytes a row, a thousand rows a batch).
TAKEN_FIELDS = ("reference", "state", "appeal_type_id", "assignee_id", "sla_due_at", "sla_cycle", "sla_stage", "escalated_at")


def _take(qs, taken: list[int]):
    rows = list(qs.select_for_update(skip_locked=True).only(*TAKEN_FIELDS)[:BATCH])
    taken.append(len(rows))
    if rows:  # a handful of types and agents for a thousand rows: each read once, not joined to every row
        types = AppealType.objects.only("name_zh_hans", "name_en").in_bulk({a.appeal_type_id for a in rows})
        users = (
            get_user_model()
            .objects.only("username", "email", "is_active")
            .in_bulk(
                {a.assignee_id for a in rows if a.assignee_id},
            )
        )
        for appeal in rows:
            appeal.appeal_type = types[appeal.appeal_type_id]
            appeal.assignee = users.get(appeal.assignee_id)
    return rows


def _record(appeals: list[Appeal], kind: str, recipients: dict[int, list[str]]) -> list[Appeal]:
    """One SlaEvent per appeal for this kind and cycle, in one statement; returns the appeals it was
    recorded for (an existing one means another sweep acted: that appeal is skipped)."""
    if not appeals:
        return []
    now = timezone.now()
    table = connection.ops.quote_name(SlaEvent._meta.db_table)
    if connection.vendor == "postgresql":  # three arrays: no statement of 5,000 placeholders to build and parse
        rows = (
            "SELECT v.appeal_id, %s, v.cycle, v.recipients, %s FROM unnest(%s::bigint[], %s::integer[], %s::text[]) "
            "AS v(appeal_id, cycle, recipients)"
        )
        params = [
            kind,
            now,
            [a.pk for a in appeals],
            [a.sla_cycle for a in appeals],
            [", ".join(recipients[a.pk]) for a in appeals],
        ]
    else:
        rows = "VALUES " + ", ".join(["(%s, %s, %s, %s, %s)"] * len(appeals))
        params = [v for a in appeals for v in (a.pk, kind, a.sla_cycle, ", ".join(recipients[a.pk]), now)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (appeal_id, kind, cycle, recipients, created_at) {rows} "
            "ON CONFLICT (appeal_id, kind, cycle) DO NOTHING RETURNING appeal_id",
            params,
        )
        recorded = {row[0] for row in cursor.fetchall()}
    return [a for a in appeals if a.pk in recorded]


def sla_sweep(*, now=None) -> SweepReport:
    """Everything due now, in batches of up to BATCH rows of each kind, one transaction per batch
    (one alert e-mail per recipient and kind per batch)."""
    now = now or timezone.now()
    report = SweepReport()
    for _batch in range(MAX_BATCHES):
        if max(_sweep_batch(now, report)) < BATCH:
            break
    if report.breached or report.warned or report.second_breached:
        logger.info("SLA sweep: %s", report)
    return report


def _sweep_batch(now, report: SweepReport) -> list[int]:
    taken: list[int] = []
    alerts: dict[tuple[str, str], list[Appeal]] = defaultdict(list)  # (kind, e-mail) -> appeals
    with transaction.atomic():
        due = _take(Appeal.objects.due_for_breach(now), taken)
        supervisors = _emails(_staff(group=SUPERVISORS)) if due else []
        breached = _record(due, SlaEvent.Kind.BREACH, dict.fromkeys((a.pk for a in due), supervisors))
        _breach(breached, report)
        integration_events_record_bulk(type=IntegrationEvent.Type.SLA_BREACHED, appeals=breached)
        for appeal in breached:
            for email in supervisors:
                alerts[(SlaEvent.Kind.BREACH, email)].append(appeal)

        due = _take(Appeal.objects.due_for_warning(now), taken)
        agents = _emails(_staff(group=AGENTS)) if any(not a.assignee_id for a in due) else []
        recipients = {a.pk: _emails([a.assignee]) if a.assignee_id else agents for a in due}
        warned = _record(due, SlaEvent.Kind.WARNING, recipients)
        Appeal.objects.filter(pk__in=[a.pk for a in warned]).update(sla_stage=SlaStage.WARNED, updated_at=now)
        for appeal in warned:
            report.warned.append(appeal.reference)
            for email in recipients[appeal.pk]:
                alerts[(SlaEvent.Kind.WARNING, email)].append(appeal)

        due = _take(Appeal.objects.due_for_second_breach(now), taken)
        admins = _emails(_staff(superusers=True)) if due else []
        second = _record(due, SlaEvent.Kind.SECOND_BREACH, dict.fromkeys((a.pk for a in due), admins))
        Appeal.objects.filter(pk__in=[a.pk for a in second]).update(sla_stage=SlaStage.SECOND_BREACH, updated_at=now)
        for appeal in second:
            report.second_breached.append(appeal.reference)
            for email in admins:
                alerts[(SlaEvent.Kind.SECOND_BREACH, email)].append(appeal)

        for (kind, email), appeals in sorted(alerts.items()):
            _alert(kind=kind, email=email, appeals=appeals)
            report.emails += 1
    return taken


def _breach(appeals: list[Appeal], report: SweepReport) -> None:
    """Breach the (locked, recorded) appeals: the `escalate` transition runs on each one still in an
    escalatable state, as everywhere (it checks the source state and sets the target and its time),
    then the batch is written with one UPDATE and its audit events with one INSERT."""
    if not appeals:
        return
    stamp = timezone.now()
    changed: dict[tuple[str, object], list[int]] = defaultdict(list)  # (state, escalated_at) -> ids
    escalated: list[tuple[Appeal, str]] = []  # (appeal, the state it left), for its audit event
    for appeal in appeals:
        if appeal.state in ESCALATABLE:
            from_state = appeal.state
            appeal.escalate(by=None, at=stamp)
            changed[(appeal.state, appeal.escalated_at)].append(appeal.pk)
            escalated.append((appeal, from_state))
            report.escalated.append(appeal.reference)
        appeal.sla_stage = SlaStage.BREACHED
        appeal.updated_at = stamp
        report.breached.append(appeal.reference)
    fields = {"sla_stage": SlaStage.BREACHED, "updated_at": stamp}
    if changed:  # what the transitions did, row by row, as CASE expressions of the one UPDATE
        state, escalated_at = Appeal._meta.get_field("state"), Appeal._meta.get_field("escalated_at")
        fields["state"] = Case(
            *[When(pk__in=ids, then=Value(new, output_field=state)) for (new, _at), ids in changed.items()],
            default=F("state"),
            output_field=state,
        )
        fields["escalated_at"] = Case(
            *[When(pk__in=ids, then=Value(at)) for (_new, at), ids in changed.items()],
            default=F("escalated_at"),
            output_field=escalated_at,
        )
    Appeal.objects.filter(pk__in=[a.pk for a in appeals]).update(**fields)
    sla_breach_escalated_events(escalated=escalated)


def _alert(*, kind: str, email: str, appeals: list[Appeal]) -> None:
    rows = [
        {
            "reference": a.reference,
            "type": a.appeal_type.name,
            "state": a.get_state_display(),
            "due": a.sla_due_at,
            "assignee": a.assignee.get_username() if a.assignee else "",
            "url": f"{settings.SITE_URL}{reverse('desk:appeal', args=[a.reference])}",
        }
        for a in sorted(appeals, key=lambda a: (a.sla_due_at, a.reference))
    ]
    outbox_enqueue(
        template="sla_alert",
        to=email,
        language=settings.LANGUAGE_CODE,
        appeal=appeals[0] if len(appeals) == 1 else None,
        context={"kind": kind, "rows": rows, "count": len(rows), "console_url": f"{settings.SITE_URL}{reverse('desk:queue')}"},
    )

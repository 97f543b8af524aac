"""The SLA sweep (SPEC §5): warnings at 75 %, escalation at 100 %, administrators 24 h after escalation
— or, for an appeal type whose SLA policy defines escalation levels, each level in turn (`_levels`).

Each batch of a sweep is one transaction. It takes the due rows with SELECT … FOR UPDATE SKIP LOCKED (a
concurrent sweep skips them), records each action as an `SlaEvent` (unique per appeal, kind and
cycle; one INSERT … ON CONFLICT DO NOTHING per batch, and an appeal whose event already exists is
skipped), advances the appeal's `sla_stage` (so its partial index no longer covers it) with one
UPDATE per kind — for breaches after running the `escalate` transition on each appeal in memory,
the UPDATE writing what the transitions set, with their audit events in one INSERT — and writes one
alert e-mail per recipient and kind to the outbox, all committed together. Running it twice, or two
at once, never acts twice.

Escalation levels as data (`SlaEscalationLevel`: threshold % of the target → recipients → action)
follow the same design with one more partial index: each level's instant is computed when the clock
starts or resumes and stored on the appeal (`sla_levels_at`), the next one in `sla_level_at`; the
sweep takes the rows whose next level is due, records an `SlaEvent` (kind `level_<n>`, or `breach`
for the level that escalates — one per cycle), runs `escalate` where asked, and moves each appeal to
its next level with one UPDATE. Such an appeal's `sla_stage` is SLA_LEVELS_BASE + the levels done,
above the default ladder's partial indexes.

Quiet hours: an alert for a type whose policy has a calendar and is not urgent, falling outside that
calendar's working hours, is held (`SlaHeldAlert`, in the same transaction as its SlaEvent) until the
next opening; `sla_held_alerts_send` (the beat task, after each sweep) then sends each person one
digest of everything held for them. Types without such a policy alert at once, at any hour.

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
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_events_record_bulk
from tickets.events import sla_breach_escalated_events
from tickets.models import (
    SLA_LEVELS_BASE,
    Appeal,
    AppealState,
    AppealType,
    SlaEscalationLevel,
    SlaEvent,
    SlaHeldAlert,
    SlaPolicy,
    SlaStage,
)
from tickets.outbox.services import outbox_enqueue
from tickets.roles import AGENTS, SUPERVISORS

logger = logging.getLogger(__name__)

ESCALATABLE = (AppealState.SUBMITTED, AppealState.IN_REVIEW, AppealState.PENDING_APPROVAL)
BATCH = 1000
FIRST_RESPONSE = "first_response"  # the SlaEvent kind of a missed first-response target
MAX_BATCHES = 50  # a sweep handles up to 50,000 of each kind; the next sweep takes any rest


@dataclass
class SweepReport:
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    second_breached: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)  # "reference@percent", per escalation level reached
    emails: int = 0
    held: int = 0  # alerts held for the digest at the end of quiet hours
    first_response_missed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"warned {len(self.warned)}, breached {len(self.breached)} (escalated {len(self.escalated)}), "
            f"breached again after escalation {len(self.second_breached)}, escalation levels {len(self.levels)}, "
            f"first response missed {len(self.first_response_missed)}, alert e-mails {self.emails}, "
            f"held for quiet hours {self.held}"
        )


def _emails(users) -> list[str]:
    return sorted({u.email.strip().lower() for u in users if u.email and u.is_active})


def _staff(*, group: str | None = None, superusers: bool = False):
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    return users.filter(is_superuser=True) if superusers else users.filter(Q(groups__name=group)).distinct()


# What a batch reads of each row: the columns the sweep, the transition and the alert use (an appeal's
# letter and consent texts alone can be kilobytes a row, a thousand rows a batch).
TAKEN_FIELDS = ("reference", "state", "appeal_type_id", "assignee_id", "sla_due_at", "sla_cycle", "sla_stage", "escalated_at")


def _take(qs, taken: list[int], fields=TAKEN_FIELDS):
    rows = list(qs.select_for_update(skip_locked=True).only(*fields)[:BATCH])
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
    if report.breached or report.warned or report.second_breached or report.levels or report.first_response_missed:
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

        due = _take(Appeal.objects.due_for_first_response(now), taken)
        agents = _emails(_staff(group=AGENTS)) if any(not a.assignee_id for a in due) else []
        recipients = {a.pk: _emails([a.assignee]) if a.assignee_id else agents for a in due}
        missed = _record(due, FIRST_RESPONSE, recipients)
        Appeal.objects.filter(pk__in=[a.pk for a in missed]).update(sla_first_response_missed=True, updated_at=now)
        for appeal in missed:
            report.first_response_missed.append(appeal.reference)
            for email in recipients[appeal.pk]:
                alerts[(FIRST_RESPONSE, email)].append(appeal)

        _levels(_take(Appeal.objects.due_for_level(now), taken, (*TAKEN_FIELDS, "sla_levels_at")), alerts, report)

        report.held += _hold_quiet(alerts, now)
        for (kind, email), appeals in sorted(alerts.items()):
            if appeals:
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


def _levels(appeals: list[Appeal], alerts: dict, report: SweepReport) -> None:
    """Act on the (locked) appeals whose next escalation level is due: record it once per cycle, tell
    its recipients, escalate where the level says so, and move each to its next level in one UPDATE."""
    if not appeals:
        return
    stamp = timezone.now()
    policies = SlaPolicy.objects.filter(appeal_type_id__in={a.appeal_type_id for a in appeals}).prefetch_related("levels")
    ladders = {p.appeal_type_id: list(p.levels.all()) for p in policies}
    people: dict[str, list[str]] = {}

    def staff(recipients: str) -> list[str]:
        if recipients not in people:
            people[recipients] = _emails(
                _staff(superusers=True)
                if recipients == SlaEscalationLevel.Recipients.ADMINISTRATORS
                else _staff(group=SUPERVISORS if recipients == SlaEscalationLevel.Recipients.SUPERVISORS else AGENTS)
            )
        return people[recipients]

    groups: dict[str, list[tuple[Appeal, SlaEscalationLevel]]] = defaultdict(list)  # SlaEvent kind -> due levels
    stale: list[Appeal] = []  # the policy lost its levels since the clock started: out of the index
    for appeal in appeals:
        ladder, done = ladders.get(appeal.appeal_type_id, []), appeal.sla_stage - SLA_LEVELS_BASE
        if not 0 <= done < len(ladder):
            stale.append(appeal)
            continue
        level = ladder[done]
        kind = SlaEvent.Kind.BREACH if level.action == SlaEscalationLevel.Action.ESCALATE else f"level_{done + 1}"
        groups[kind].append((appeal, level))
    if stale:
        Appeal.objects.filter(pk__in=[a.pk for a in stale]).update(sla_level_at=None, updated_at=stamp)

    moved: list[Appeal] = []
    breached: list[Appeal] = []
    escalated: list[tuple[Appeal, str]] = []
    for kind, due in sorted(groups.items()):
        levels = {appeal.pk: level for appeal, level in due}
        recipients = {
            appeal.pk: _emails([appeal.assignee])
            if level.recipients == SlaEscalationLevel.Recipients.ASSIGNEE and appeal.assignee_id
            else staff(level.recipients)
            for appeal, level in due
        }
        for appeal in _record([appeal for appeal, _level in due], kind, recipients):
            level = levels[appeal.pk]
            if level.action == SlaEscalationLevel.Action.ESCALATE:
                breached.append(appeal)
                report.breached.append(appeal.reference)
                if appeal.state in ESCALATABLE:
                    from_state = appeal.state
                    appeal.escalate(by=None, at=stamp)
                    escalated.append((appeal, from_state))
                    report.escalated.append(appeal.reference)
            report.levels.append(f"{appeal.reference}@{level.threshold_percent}")
            done = appeal.sla_stage - SLA_LEVELS_BASE + 1
            appeal.sla_stage = SLA_LEVELS_BASE + done
            later = done < min(len(appeal.sla_levels_at or []), len(ladders[appeal.appeal_type_id]))
            appeal.sla_level_at = datetime.fromisoformat(appeal.sla_levels_at[done]) if later else None
            appeal.updated_at = stamp
            moved.append(appeal)
            for email in recipients[appeal.pk]:
                alerts[(f"level:{level.threshold_percent:04d}:{level.action}", email)].append(appeal)
    if moved:  # the next level of each, and what `escalate` set, in one UPDATE
        _levels_write(moved, stamp)
    sla_breach_escalated_events(escalated=escalated)
    integration_events_record_bulk(type=IntegrationEvent.Type.SLA_BREACHED, appeals=breached)


def _levels_write(moved: list[Appeal], stamp) -> None:
    """One UPDATE for the batch. On PostgreSQL the rows' new values travel as arrays joined with
    `unnest` (Django's `bulk_update` builds a CASE of one branch per row for each column: for 1,000 rows
    it spent 2 s building and running that); elsewhere (the development SQLite) `bulk_update`."""
    if connection.vendor != "postgresql":
        Appeal.objects.bulk_update(moved, ["sla_stage", "sla_level_at", "state", "escalated_at", "updated_at"], batch_size=BATCH)
        return
    table = Appeal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET sla_stage = v.sla_stage, sla_level_at = v.sla_level_at, state = v.state, "  # noqa: S608 - our table name
            "escalated_at = v.escalated_at, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::smallint[], %s::timestamptz[], %s::varchar[], %s::timestamptz[]) "
            "AS v(id, sla_stage, sla_level_at, state, escalated_at) WHERE a.id = v.id",
            [
                stamp,
                [a.pk for a in moved],
                [a.sla_stage for a in moved],
                [a.sla_level_at for a in moved],
                [a.state for a in moved],
                [a.escalated_at for a in moved],
            ],
        )


def _hold_quiet(alerts: dict, now) -> int:
    """Take out of `alerts` those of types whose policy calendar is closed now (and not urgent), and
    hold them until it opens. One query for the policies of a batch that has alerts."""
    types = {a.appeal_type_id for appeals in alerts.values() for a in appeals}
    if not types:
        return 0
    policies = SlaPolicy.objects.filter(appeal_type_id__in=types, urgent=False, calendar__isnull=False).select_related("calendar")
    calendars, opens = {}, {}
    for policy in policies:
        if policy.calendar_id not in calendars:
            calendars[policy.calendar_id] = policy.calendar.working_calendar().add(now, timedelta(0))  # the next opening
        if calendars[policy.calendar_id] > now:
            opens[policy.appeal_type_id] = calendars[policy.calendar_id]
    if not opens:
        return 0
    held = []
    for (kind, email), appeals in alerts.items():
        held += [
            SlaHeldAlert(appeal=a, kind=kind, to=email, release_at=opens[a.appeal_type_id], created_at=now)
            for a in appeals
            if a.appeal_type_id in opens
        ]
        alerts[(kind, email)] = [a for a in appeals if a.appeal_type_id not in opens]
    SlaHeldAlert.objects.bulk_create(held)
    return len(held)


def _what(kind: str) -> str:
    """An alert kind in words, for the digest's rows."""
    if kind.startswith("level:"):
        _level, percent, action = kind.split(":")
        reached = gettext("%(percent)s %% of the promised time") % {"percent": int(percent)}
        return f"{reached} · {gettext('escalated')}" if action == SlaEscalationLevel.Action.ESCALATE else reached
    return {
        SlaEvent.Kind.WARNING: gettext("%(percent)s %% of the promised time") % {"percent": 75},
        SlaEvent.Kind.BREACH: gettext("Promised time passed · escalated"),
        SlaEvent.Kind.SECOND_BREACH: gettext("Undecided 24 h after escalation"),
        FIRST_RESPONSE: gettext("No first response yet"),
    }.get(kind, kind)


def sla_held_alerts_send(*, now=None) -> int:
    """Send what quiet hours held and whose hours have begun: one digest per person, in one
    transaction with deleting the held rows (SKIP LOCKED: two at once send each once). Returns the
    number of e-mails."""
    now = now or timezone.now()
    with transaction.atomic():
        held = list(
            SlaHeldAlert.objects.filter(release_at__lte=now)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("appeal__appeal_type", "appeal__assignee")
            .order_by("release_at", "pk")[: BATCH * 10]
        )
        if not held:
            return 0
        by_person: dict[str, list[SlaHeldAlert]] = defaultdict(list)
        for row in held:
            by_person[row.to].append(row)
        for email, rows in sorted(by_person.items()):
            outbox_enqueue(
                template="sla_digest",
                to=email,
                language=settings.LANGUAGE_CODE,
                context={
                    "rows": [{**_row(row.appeal), "what": _what(row.kind)} for row in rows],
                    "count": len(rows),
                    "console_url": f"{settings.SITE_URL}{reverse('desk:queue')}",
                },
            )
        SlaHeldAlert.objects.filter(pk__in=[row.pk for row in held]).delete()
    return len(by_person)


def _row(a: Appeal) -> dict:
    return {
        "reference": a.reference,
        "type": a.appeal_type.name,
        "state": a.get_state_display(),
        "due": a.sla_due_at,
        "assignee": a.assignee.get_username() if a.assignee else "",
        "url": f"{settings.SITE_URL}{reverse('desk:appeal', args=[a.reference])}",
    }


def _alert(*, kind: str, email: str, appeals: list[Appeal]) -> None:
    rows = [_row(a) for a in sorted(appeals, key=lambda a: (a.sla_due_at, a.reference))]
    kind, _, level = kind.partition(":")  # an escalation level: "level:<percent>:<action>"
    percent, _, action = level.partition(":")
    outbox_enqueue(
        template="sla_alert",
        to=email,
        language=settings.LANGUAGE_CODE,
        appeal=appeals[0] if len(appeals) == 1 else None,
        context={
            "kind": kind,
            "percent": int(percent or 0),
            "action": action,
            "rows": rows,
            "count": len(rows),
            "console_url": f"{settings.SITE_URL}{reverse('desk:queue')}",
        },
    )

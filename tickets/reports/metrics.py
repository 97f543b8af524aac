"""SLA compliance and backlog for supervisors (`/desk/metrics/`). Every number here comes from an
aggregate query; nothing loops over appeals in Python — except the risk signals' precision, computed
over the few decided appeals whose outcome a supervisor recorded."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Aggregate, Avg, Count, DurationField, ExpressionWrapper, F, FloatField, Func, Q
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from tickets.models import (
    DECIDED_STATES,
    OPEN_STATES,
    SLA_RUNNING_STATES,
    Appeal,
    AppealState,
    AppealType,
    FulfilmentState,
    Outcome,
    RiskSignal,
    SatisfactionRating,
    SlaEvent,
)

MET = Q(closed_at__lte=F("sla_due_at"))
AGE_BUCKETS = ((0, 24), (24, 48), (48, 72), (72, None))


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        super().__init__(expression, percentile=float(percentile), **extra)


def _hours_to_decision(start: str = "created_at", end: str = "closed_at"):
    return Func(
        ExpressionWrapper(F(end) - F(start), output_field=DurationField()),
        template="EXTRACT(EPOCH FROM %(expressions)s) / 3600.0",
        output_field=FloatField(),
    )


def _percentiles(qs, start: str = "created_at", end: str = "closed_at") -> tuple[float | None, float | None]:
    """Median and 90th percentile of hours from `start` to `end` (by default: to decision)."""
    if connection.vendor == "postgresql":
        hours = _hours_to_decision(start, end)
        row = qs.aggregate(p50=PercentileCont(hours, 0.5), p90=PercentileCont(hours, 0.9))
        return row["p50"], row["p90"]
    # Other databases (SQLite for a first run): nearest-rank percentiles, still computed by the database.
    ordered = (
        qs.annotate(duration=ExpressionWrapper(F(end) - F(start), output_field=DurationField()))
        .order_by("duration")
        .values_list("duration", flat=True)
    )
    count = qs.count()
    if not count:
        return None, None
    pick = lambda p: ordered[min(count - 1, int(p * count))].total_seconds() / 3600  # noqa: E731
    return pick(0.5), pick(0.9)


@dataclass
class Metrics:
    since: object
    compliance_by_type: list[dict]
    compliance_by_week: list[dict]
    decision_hours: dict
    decision_hours_by_type: list[dict]
    backlog: list[dict]
    breaches_by_day: list[dict]
    workload: list[dict]
    # Approved appeals released to the platform since `since`: released / done / failed, the releases
    # overdue now (whenever released), and hours from release to `done` (median, 90th percentile).
    fulfilment: dict
    # Learning from outcomes (all time): each risk signal's precision among the decided appeals with an
    # outcome, the approvals later found to be takeovers, and the review sample reviewed / waiting.
    outcomes: dict
    # The appellants' ratings of decisions received since `since`: overall and by deciding agent, appeal
    # type and outcome, each with its count, average and distribution (how many gave 1, 2, … 5).
    satisfaction: dict = field(default_factory=dict)


def _outcomes() -> dict:
    recorded = Appeal.objects.filter(state__in=DECIDED_STATES).exclude(outcome="")
    labels = dict(RiskSignal.choices)
    signals: dict[str, dict] = {}
    for outcome, risk_signals in recorded.values_list("outcome", "risk_signals"):
        for kind in {item.get("kind", "") for item in risk_signals or []}:
            row = signals.setdefault(kind, {"kind": kind, "label": labels.get(kind, kind), "appeals": 0, "takeovers": 0})
            row["appeals"] += 1
            row["takeovers"] += outcome == Outcome.TAKEOVER
    for row in signals.values():
        row["precision"] = row["takeovers"] / row["appeals"]
    counts = Appeal.objects.aggregate(
        recorded=Count("pk", filter=Q(state__in=DECIDED_STATES) & ~Q(outcome="")),
        takeovers=Count("pk", filter=Q(state__in=DECIDED_STATES, outcome=Outcome.TAKEOVER)),
        approvals_wrong=Count("pk", filter=Q(state=AppealState.APPROVED, outcome=Outcome.TAKEOVER)),
        sample_reviewed=Count("pk", filter=Q(state=AppealState.APPROVED, review_sampled=True) & ~Q(outcome="")),
        sample_waiting=Count("pk", filter=Q(state=AppealState.APPROVED, review_sampled=True, outcome="")),
        # The security hold: approvals held, stopped by a registered contact, and of those the ones a
        # supervisor confirmed as takeover attempts (caught by the hold) or found to be false alarms.
        holds=Count("pk", filter=Q(hold_number__gt=0)),
        hold_stopped=Count("pk", filter=Q(takeover_suspected=True)),
        hold_caught=Count("pk", filter=Q(takeover_suspected=True, outcome=Outcome.TAKEOVER)),
        hold_false_alarms=Count("pk", filter=Q(takeover_suspected=True, outcome=Outcome.FALSE_ALARM)),
    )
    return {**counts, "signals": sorted(signals.values(), key=lambda row: (-row["precision"], row["kind"]))}


def _fulfilment(*, now, since) -> dict:
    released = Appeal.objects.filter(released_at__gte=since).exclude(fulfilment=FulfilmentState.NOT_RELEASED)
    row = released.aggregate(
        released=Count("pk"),
        done=Count("pk", filter=Q(fulfilment=FulfilmentState.DONE)),
        failed=Count("pk", filter=Q(fulfilment=FulfilmentState.FAILED)),
    )
    overdue_before = now - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS)
    row["overdue"] = Appeal.objects.filter(fulfilment=FulfilmentState.RELEASED, released_at__lte=overdue_before).count()
    row["p50"], row["p90"] = _percentiles(
        released.filter(fulfilment=FulfilmentState.DONE, fulfilment_reported_at__isnull=False),
        start="released_at",
        end="fulfilment_reported_at",
    )
    return row


def _satisfaction(*, since, types: dict) -> dict:
    """Four aggregate queries: overall, by agent, by type, by outcome."""
    ratings = SatisfactionRating.objects.filter(created_at__gte=since)
    figures = {
        "count": Count("pk"),
        "average": Avg("score"),
        **{f"s{score}": Count("pk", filter=Q(score=score)) for score in SatisfactionRating.SCORES},
    }

    def rows(group: str, label, key=lambda value: value) -> list[dict]:
        """`key`: how the CSV names the group; `label`: how the page does."""
        found = ratings.values(group).annotate(**figures).order_by(group)
        return [{"key": key(row[group]), "label": label(row[group]), **_distribution(row)} for row in found]

    outcomes = dict(AppealState.choices)
    return {
        "scores": SatisfactionRating.SCORES,
        "overall": _distribution(ratings.aggregate(**figures)),
        "by_agent": rows("agent__username", lambda username: username or "—", key=lambda username: username or ""),
        "by_type": rows("appeal__appeal_type", lambda pk: types[pk].name, key=lambda pk: types[pk].code),
        "by_outcome": rows("outcome", lambda outcome: outcomes.get(outcome, outcome)),
    }


def _distribution(row: dict) -> dict:
    return {
        "count": row["count"],
        "average": row["average"],
        "distribution": [row[f"s{score}"] for score in SatisfactionRating.SCORES],
    }


def metrics_compute(*, now=None, weeks: int = 12) -> Metrics:
    now = now or timezone.now()
    since = now - timedelta(weeks=weeks)
    decided = Appeal.objects.filter(state__in=DECIDED_STATES, closed_at__gte=since, sla_due_at__isnull=False)
    counts = {"met": Count("pk", filter=MET), "breached": Count("pk", filter=~MET)}

    types = {t.pk: t for t in AppealType.objects.all()}
    by_type = [
        {"type": types[row["appeal_type"]], **row}
        for row in decided.values("appeal_type").annotate(**counts).order_by("appeal_type")
    ]
    by_week = list(decided.annotate(week=TruncWeek("closed_at")).values("week").annotate(**counts).order_by("week"))

    p50, p90 = _percentiles(decided)
    hours_by_type = []
    for pk, appeal_type in types.items():
        t50, t90 = _percentiles(decided.filter(appeal_type=pk))
        if t50 is not None:
            hours_by_type.append({"type": appeal_type, "p50": t50, "p90": t90})

    open_appeals = Appeal.objects.open()
    buckets = {}
    for low, high in AGE_BUCKETS:
        age = Q(created_at__lte=now - timedelta(hours=low))
        if high is not None:
            age &= Q(created_at__gt=now - timedelta(hours=high))
        buckets[f"b{low}"] = Count("pk", filter=age)
    backlog_row = open_appeals.aggregate(**buckets)
    backlog = [{"low": low, "high": high, "count": backlog_row[f"b{low}"]} for low, high in AGE_BUCKETS]

    breaches = list(
        SlaEvent.objects.filter(kind=SlaEvent.Kind.BREACH, created_at__gte=now - timedelta(days=30))
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .order_by("day")
    )

    workload = list(
        Appeal.objects.filter(assignee__isnull=False)
        .values("assignee__username")
        .annotate(
            open=Count("pk", filter=Q(state__in=OPEN_STATES)),
            overdue=Count("pk", filter=Q(state__in=SLA_RUNNING_STATES, sla_due_at__lt=now)),
            decided_7d=Count("pk", filter=Q(state__in=DECIDED_STATES, closed_at__gte=now - timedelta(days=7))),
        )
        .filter(Q(open__gt=0) | Q(decided_7d__gt=0))
        .order_by("-open", "assignee__username")
    )
    return Metrics(
        since=since,
        compliance_by_type=by_type,
        compliance_by_week=by_week,
        decision_hours={"p50": p50, "p90": p90},
        decision_hours_by_type=hours_by_type,
        backlog=backlog,
        breaches_by_day=breaches,
        workload=workload,
        fulfilment=_fulfilment(now=now, since=since),
        outcomes=_outcomes(),
        satisfaction=_satisfaction(since=since, types=types),
    )

"""SLA compliance and backlog for supervisors (`/desk/metrics/`). Every number here comes from an
aggregate query; nothing loops over appeals in Python."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, FloatField, Func, Q
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from tickets.models import DECIDED_STATES, OPEN_STATES, SLA_RUNNING_STATES, Appeal, AppealType, SlaEvent

MET = Q(closed_at__lte=F("sla_due_at"))
AGE_BUCKETS = ((0, 24), (24, 48), (48, 72), (72, None))


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expression)."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, percentile: float, **extra):
        super().__init__(expression, percentile=float(percentile), **extra)


def _hours_to_decision():
    return Func(
        ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
        template="EXTRACT(EPOCH FROM %(expressions)s) / 3600.0",
        output_field=FloatField(),
    )


def _percentiles(qs) -> tuple[float | None, float | None]:
    """Median and 90th percentile of hours to decision."""
    if connection.vendor == "postgresql":
        row = qs.aggregate(p50=PercentileCont(_hours_to_decision(), 0.5), p90=PercentileCont(_hours_to_decision(), 0.9))
        return row["p50"], row["p90"]
    # Other databases (SQLite for a first run): nearest-rank percentiles, still computed by the database.
    ordered = (
        qs.annotate(duration=ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()))
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
    )

"""The SLA sweep at scale: 100,000 open appeals, 100 of them due."""

import time

from django.db import connection
from django.utils import timezone

from tickets.appeal_types import appeal_types_seed
from tickets.generate import appeals_generate
from tickets.models import AppealType
from tickets.sla import sla_sweep


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def test_sla_sweep_at_100k(record):
    appeal_types_seed(AppealType)
    now = timezone.now()
    elapsed, inserted = timed(lambda: appeals_generate(count=100_000, due=100, now=now, seed=1, open_only=True, related=False))
    record("generate_appeals: 100,100 rows", elapsed, "ms", note=f"{inserted} rows")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")

    elapsed, report = timed(lambda: sla_sweep(now=now))
    assert len(report.escalated) == 100
    record("sla_sweep: 100 due of 100,100 open (escalate all)", elapsed, "ms", target=1000)

    idle = []
    for _ in range(20):
        ms, report = timed(lambda: sla_sweep(now=now))
        assert not report.breached
        idle.append(ms)
    idle.sort()
    record("sla_sweep: nothing due, median of 20", idle[len(idle) // 2], "ms", target=1000)

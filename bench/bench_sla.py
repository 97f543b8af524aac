"""The SLA sweep at scale.

- 100,000 open appeals, 100 of them due.
- A production-like table: 1,000,000 open appeals (inside their SLA) beside 640,000 decided 1 to 180
  days ago, whose due times are long past and whose SLA stage is what the sweep had reached by the
  decision; once with 1,000 appeals just due, then idle (nothing due: the every-minute case).

Each runs inside the test's transaction, rolled back at the end. Set BENCH_SIZES below 1,000,000
(e.g. "10000,100000") to skip the 1.64 M table."""

import json
import os
import time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets.models import Appeal, AppealType
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.generate import appeals_generate
from tickets.sla.sweep import sla_sweep

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
IDLE_SWEEPS = 20
IDLE_BUDGET_S = 60  # the old code needed seconds per idle sweep: stop repeating after a minute (at least 3)


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def idle_median(now) -> tuple[float, int]:
    idle: list[float] = []
    started = time.perf_counter()
    while len(idle) < IDLE_SWEEPS and (len(idle) < 3 or time.perf_counter() - started < IDLE_BUDGET_S):
        ms, report = timed(lambda: sla_sweep(now=now))
        assert not report.breached and not report.warned and not report.second_breached
        idle.append(ms)
    idle.sort()
    return idle[len(idle) // 2], len(idle)


def rows_read_idle(now) -> tuple[int, int]:
    """What an idle sweep's locking statements read, by EXPLAIN (ANALYZE, BUFFERS) of the exact
    statements it sends: rows the scans of the appeals table looked at (returned or filtered out,
    over all loops) and buffers (8 KiB pages) touched. Neither depends on the machine's load."""
    with CaptureQueriesContext(connection) as captured:
        sla_sweep(now=now)
    rows = buffers = 0
    for query in captured.captured_queries:
        if " FOR UPDATE" not in query["sql"] or "SKIP LOCKED" not in query["sql"]:
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query['sql']}")
            plan = cursor.fetchone()[0]
        plan = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
        buffers += plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
        nodes = [plan]
        while nodes:
            node = nodes.pop()
            nodes.extend(node.get("Plans", []))
            if node.get("Relation Name") == "tickets_appeal":
                rows += round((node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"])
    return rows, buffers


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

    median, sweeps = idle_median(now)
    record("sla_sweep: nothing due of 100,100 open (median)", median, "ms", target=1000, note=f"median of {sweeps} sweeps")


def test_sla_sweep_on_a_production_like_table(record):
    if max(SIZES) < 1_000_000:
        return
    appeal_types_seed(AppealType)
    now = timezone.now()
    elapsed, inserted = timed(
        lambda: appeals_generate(
            count=1_000_000,
            due=1000,
            decided=640_000,
            now=now,
            seed=3,
            open_only=True,
            related=False,
        )
    )
    assert inserted > 1_640_000  # a random reference may repeat (31^8 values): that row is skipped
    record("generate_appeals: 1.0 M open + 0.64 M decided", elapsed, "ms", note=f"{inserted} rows")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load

    due = Appeal.objects.due_for_breach(now).count()
    elapsed, report = timed(lambda: sla_sweep(now=now))
    assert len(report.escalated) == due > 990
    record("sla_sweep, mixed 1.64 M: 1,000 due (escalate all)", elapsed, "ms", target=300)

    median, sweeps = idle_median(now)
    record("sla_sweep, mixed 1.64 M: nothing due (median)", median, "ms", target=20, note=f"median of {sweeps} sweeps")
    rows, buffers = rows_read_idle(now)
    record("sla_sweep, mixed 1.64 M: nothing due, rows read", rows, "rows", note=f"{buffers} buffers (8 KiB)")


def test_sla_sweep_with_calendars_at_1m(record):
    """Every type on a working-day calendar with an escalation level (100 %: escalate): 1,000,000 open
    appeals inside their SLA plus 1,000 just due, their level instants stored as the clock computed
    them. The sweep reads the level index and stops at the first row not yet due. Also: the cost of
    computing a due time on the calendar when the clock starts (per arrival).

    The first run took 2.76 s for the busy sweep: a profile put 2.1 s in the levels step's `bulk_update`
    (a CASE of 1,000 branches per column); one UPDATE … FROM unnest(…) now writes them (README, run G)."""
    from datetime import time as clock_time

    from tickets.models import SlaCalendar, SlaEscalationLevel, SlaPolicy

    count = min(max(SIZES), 1_000_000)
    appeal_types_seed(AppealType)
    calendar = SlaCalendar.objects.create(name="Beijing office", work_start=clock_time(9), work_end=clock_time(18))
    for appeal_type in AppealType.objects.all():
        policy = SlaPolicy.objects.create(appeal_type=appeal_type, calendar=calendar, unit="working_days", target=3)
        SlaEscalationLevel.objects.create(
            policy=policy, position=1, threshold_percent=100, recipients="supervisors", action="escalate"
        )
    now = timezone.now()
    appeals_generate(count=count, due=1000, now=now, seed=5, open_only=True, related=False)
    elapsed, _ = timed(
        lambda: connection.cursor().execute(
            "UPDATE tickets_appeal SET sla_stage = 10, sla_level_at = sla_due_at, sla_levels_at = jsonb_build_array(sla_due_at)"
        )
    )
    record(f"calendar levels: {count:,} open rows moved onto levels", elapsed, "ms")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")

    appeal = Appeal.objects.select_related("appeal_type").first()
    elapsed, _ = timed(lambda: [appeal.sla_clock_start(now) for _ in range(1000)])
    record("calendar: clock start (due, warning, levels) per arrival", elapsed / 1000, "ms", target=5)

    due = Appeal.objects.due_for_level(now).count()
    elapsed, report = timed(lambda: sla_sweep(now=now))
    assert len(report.escalated) == due >= 990
    record(f"sla_sweep, calendar levels, {count:,} open: 1,000 due (escalate all)", elapsed, "ms", target=1000)
    median, sweeps = idle_median(now)
    record(f"sla_sweep, calendar levels, {count:,} open: nothing due (median)", median, "ms", target=20)

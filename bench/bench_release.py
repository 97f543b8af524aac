"""The release sweep at scale (tickets/services/hold.py `release_sweep`).

A production-like table of 1,000,000 appeals from `generate_appeals`: 999,000 in the realistic mix
(open, rejected, withdrawn, approved; the approvals a security hold applies to were held, and are
still held if approved less than a hold ago, else released and then carried out or failed) plus
1,000 approvals whose hold ended in the last hour, filed by a platform whose webhook subscription
takes `appeal.released` (so each release also writes its integration event and its delivery).
Measured: the due statement's plan (it must read the partial index `appeal_hold_due` and only the due
rows), the sweep releasing the 1,000, then idle sweeps (nothing due: the every-minute case).

Runs inside the test's transaction, rolled back at the end. Set BENCH_SIZES below 1,000,000
(e.g. "100000") to run on a smaller table."""

import json
import os
import time

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent, WebhookDelivery, WebhookSubscription
from tickets.models import Appeal, AppealEvent, AppealType, FulfilmentState
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.generate import appeals_generate
from tickets.services.hold import release_sweep

SIZE = max(int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(","))
DUE = 1000
IDLE_SWEEPS = 20


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def locking_statements(now) -> list[str]:
    """The SELECT … FOR UPDATE SKIP LOCKED statements of one real sweep at `now`, exactly as sent;
    the sweep's changes are rolled back, so each can be explained on the data it ran on."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        release_sweep(now=now)
        transaction.set_rollback(True)
    return [q["sql"] for q in captured.captured_queries if " FOR UPDATE" in q["sql"] and "SKIP LOCKED" in q["sql"]]


def plan_of(sql: str) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of one statement, rolled back (ANALYZE runs it: it takes the locks)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        transaction.set_rollback(True)
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def appeal_scans(plan: dict) -> tuple[list[str], int, int]:
    """The indexes the scans of the appeals table read (no sequential scan), the rows they read
    (returned or filtered out, over all loops) and the buffers (8 KiB pages) the statement touched."""
    nodes, indexes, rows = [plan], [], 0
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        assert node["Node Type"] != "Seq Scan", node
        if node.get("Index Name"):  # an Index Scan, or the Bitmap Index Scan under a Bitmap Heap Scan
            indexes.append(node["Index Name"])
        if node.get("Relation Name") == "tickets_appeal":
            removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
            rows += round((node["Actual Rows"] + removed) * node["Actual Loops"])
    return indexes, rows, plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)


def plan_shape(plan: dict) -> str:
    """The plan's nodes, top down: "Limit > LockRows > Index Scan"."""
    shape = []
    while plan:
        shape.append(plan["Node Type"])
        plan = (plan.get("Plans") or [None])[0]
    return " > ".join(shape)


def test_release_sweep_on_a_production_like_table(record):
    appeal_types_seed(AppealType)
    now = timezone.now()
    label = f"{SIZE / 1_000_000:g} M" if SIZE >= 1_000_000 else f"{SIZE:,}"
    elapsed, inserted = timed(lambda: appeals_generate(count=SIZE - DUE, held_due=DUE, now=now, seed=5, related=False))
    assert inserted > SIZE - 5  # a random reference may repeat (31^8 values): that row is skipped
    record(f"generate_appeals: {label} with {DUE:,} held and due", elapsed, "ms", note=f"{inserted} rows")
    # The due approvals came through a platform that wants to hear of their release.
    integration = Integration.objects.create(name="Bench platform")
    WebhookSubscription.objects.create(
        integration=integration, url="https://platform.example/hooks", event_types=[IntegrationEvent.Type.RELEASED]
    )
    due = Appeal.objects.due_for_release(now)
    assert Appeal.objects.filter(pk__in=due.values("pk")).update(integration=integration) == DUE
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load
    held = Appeal.objects.filter(fulfilment=FulfilmentState.HELD).count()
    released = Appeal.objects.filter(fulfilment__in=[FulfilmentState.RELEASED, FulfilmentState.DONE]).count()
    note = f"{held - DUE:,} more held until later, {released:,} released or carried out"

    # The statement that takes the due rows reads the partial index, and the due rows only (PostgreSQL
    # may walk the index in order, or fetch the due rows by bitmap and sort them: both read only those).
    (statement, *_) = locking_statements(now)
    plan = plan_of(statement)
    indexes, rows, buffers = appeal_scans(plan)
    assert indexes == ["appeal_hold_due"] and rows == DUE, (indexes, rows)
    record(
        f"release_sweep, {label}: rows the due statement reads",
        rows,
        "rows",
        note=f"{buffers} buffers (8 KiB), {plan_shape(plan)}",
    )

    cpu = time.process_time()
    elapsed, done = timed(lambda: release_sweep(now=now))
    cpu = (time.process_time() - cpu) * 1000
    assert len(done) == DUE
    record(f"release_sweep, {label}: {DUE:,} due (release all)", elapsed, "ms", target=1000, note=note)
    # This process's own CPU (PostgreSQL's work is not in it): what the machine's other load does not change.
    record(f"release_sweep, {label}: {DUE:,} due, sweep process CPU", cpu, "ms")
    assert not Appeal.objects.due_for_release(now).exists()
    assert AppealEvent.objects.filter(kind=AppealEvent.Kind.RELEASE).count() == DUE
    assert WebhookDelivery.objects.filter(event__type=IntegrationEvent.Type.RELEASED).count() == DUE

    idle: list[float] = []
    for _ in range(IDLE_SWEEPS):
        ms, done = timed(lambda: release_sweep(now=now))
        assert done == []
        idle.append(ms)
    idle.sort()
    record(
        f"release_sweep, {label}: nothing due (median)",
        idle[len(idle) // 2],
        "ms",
        target=20,
        note=f"median of {IDLE_SWEEPS} sweeps",
    )
    statements = locking_statements(now)
    idle_rows = sum(appeal_scans(plan_of(sql))[1] for sql in statements)
    record(f"release_sweep, {label}: nothing due, rows read", idle_rows, "rows")

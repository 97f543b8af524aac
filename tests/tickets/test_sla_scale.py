"""The SLA sweep at scale: with 100,000 open appeals of which 100 are due, a sweep reads only the due
rows; on mixed data (open appeals beside decided ones whose due times are long past, as in
production) the exact locking statements the sweep runs read their partial indexes and stop."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tickets.models import Appeal
from tickets.seed.generate import appeals_generate
from tickets.sla.sweep import sla_sweep

pytestmark = pytest.mark.django_db


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(qs) -> list[dict]:
    return list(plan_nodes(json.loads(qs.explain(format="json", analyze=True))[0]["Plan"]))


@pytest.fixture(scope="module")
def hundred_thousand_open_hundred_due(bulk_rows, request):
    """Built once for the tests that read it (each test's changes are rolled back), removed after them."""
    if connection.vendor != "postgresql":
        pytest.fail("the scale test needs PostgreSQL (make test runs it there)")

    def make():
        now = timezone.now()
        assert appeals_generate(count=100_000, due=100, now=now, seed=7, open_only=True, related=False) == 100_100
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load
        return now

    return bulk_rows.build(request, make)


def index_scan(nodes: list[dict]) -> tuple[str, int, int]:
    """(index used, rows it returned, rows thrown away) for the scan of tickets_appeal."""
    scans = [n for n in nodes if n.get("Relation Name") == "tickets_appeal"]
    assert len(scans) == 1, nodes
    scan = scans[0]
    assert scan["Node Type"] in ("Index Scan", "Bitmap Heap Scan"), f"not an index scan: {scan}"
    if scan["Node Type"] == "Index Scan":
        index = scan["Index Name"]
    else:
        (child,) = [n for n in plan_nodes(scan) if n["Node Type"] == "Bitmap Index Scan"]
        index = child["Index Name"]
    removed = scan.get("Rows Removed by Filter", 0) + scan.get("Rows Removed by Index Recheck", 0)
    return index, scan["Actual Rows"], removed


def test_sweep_queries_read_only_the_due_rows(hundred_thousand_open_hundred_due):
    now = hundred_thousand_open_hundred_due
    for selector, index, rows in (
        ("due_for_breach", "appeal_sla_breach_pending", 100),
        ("due_for_warning", "appeal_sla_warn_pending", 100),
        ("due_for_second_breach", "appeal_second_breach_pending", 0),
        ("due_for_level", "appeal_sla_level_pending", 0),
        ("due_for_first_response", "appeal_first_response_pending", 0),
    ):
        assert index_scan(explain(getattr(Appeal.objects, selector)(now))) == (index, rows, 0), selector


def test_one_sweep_escalates_exactly_the_due_appeals(hundred_thousand_open_hundred_due):
    report = sla_sweep(now=hundred_thousand_open_hundred_due)
    assert len(report.escalated) == 100 and report.warned == []
    assert Appeal.objects.filter(state="escalated", sla_stage=2).count() == 100
    assert sla_sweep(now=hundred_thousand_open_hundred_due).breached == []


# Mixed data: open appeals inside their SLA beside decided ones (1 to 180 days old, due long past, each
# with the SLA stage it reached). The column statistics then suggest that hundreds of thousands of rows
# match `state IN (running) AND sla_stage < 2 AND sla_due_at <= now` (each condition is common on its
# own; together they never hold for a decided row), which is what tempted PostgreSQL to walk the table
# in `-created_at` order and filter, reading every row when none is due.
OPEN, DECIDED, DUE = 60_000, 40_000, 300
PARTIAL_INDEX = {  # the due condition of each locking statement -> the partial index it must read
    '"tickets_appeal"."sla_due_at" <=': "appeal_sla_breach_pending",
    '"tickets_appeal"."sla_warn_at" <=': "appeal_sla_warn_pending",
    '"tickets_appeal"."escalated_at" <=': "appeal_second_breach_pending",
    '"tickets_appeal"."sla_level_at" <=': "appeal_sla_level_pending",
    '"tickets_appeal"."sla_first_response_due_at" <=': "appeal_first_response_pending",
}


def mixed(*, due: int) -> object:
    if connection.vendor != "postgresql":
        pytest.fail("the scale test needs PostgreSQL (make test runs it there)")
    now = timezone.now()
    inserted = appeals_generate(count=OPEN, due=due, decided=DECIDED, now=now, seed=13, open_only=True, related=False)
    assert inserted == OPEN + due + DECIDED
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load
    return now


def locking_statements(now) -> list[str]:
    """The SELECT … FOR UPDATE SKIP LOCKED statements of one real sweep, exactly as sent (parameters
    bound); the sweep's changes are rolled back, so each can be explained on the data it ran on."""
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        sla_sweep(now=now)
        transaction.set_rollback(True)
    statements = [q["sql"] for q in captured.captured_queries if " FOR UPDATE" in q["sql"] and "SKIP LOCKED" in q["sql"]]
    assert statements and all("%s" not in sql for sql in statements)
    return statements


def explain_analyze(sql: str) -> list[dict]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
        transaction.set_rollback(True)  # EXPLAIN ANALYZE runs the statement: let go of its locks
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return list(plan_nodes(plan[0]["Plan"]))


def rows_read(nodes: list[dict]) -> int:
    """Rows the scans of the appeals table looked at: those they returned plus those their filters
    threw away, over all loops (EXPLAIN reports both per loop). Unlike time or buffers, this does not
    depend on the machine's load or its cache, and it is what grows with the table when a scan does
    not stop."""
    return sum(
        round(
            (n["Actual Rows"] + n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0))
            * n["Actual Loops"]
        )
        for n in nodes
        if n.get("Relation Name") == "tickets_appeal"
    )


def clauses(sql: str) -> str:
    return sql[sql.index(" WHERE ") :]


def assert_reads_its_partial_index(sql: str, nodes: list[dict]) -> None:
    (due,) = [condition for condition in PARTIAL_INDEX if condition in sql]
    scans = [n for n in nodes if n.get("Relation Name") == "tickets_appeal"]
    assert [(n["Node Type"], n.get("Index Name")) for n in scans] == [("Index Scan", PARTIAL_INDEX[due])], clauses(sql)
    assert not [
        n
        for n in nodes
        if n["Node Type"] in ("Sort", "Incremental Sort", "Seq Scan")
        and n.get("Relation Name", "tickets_appeal") == "tickets_appeal"
    ], nodes


def test_each_locking_statement_of_a_busy_sweep_reads_its_partial_index_on_mixed_data(appeal_types):
    now = mixed(due=DUE)
    statements = locking_statements(now)
    assert len(statements) == 5, statements  # breach, warning, second breach, first response, levels: one batch
    for sql in statements:
        nodes = explain_analyze(sql)
        assert_reads_its_partial_index(sql, nodes)
        # Each reads at most the due rows (explained on the data before the sweep, the warning
        # statement finds the overdue rows the breach statement took first), never the table.
        assert rows_read(nodes) <= DUE, clauses(sql)
    assert len(sla_sweep(now=now).escalated) == DUE


def test_an_idle_sweep_on_mixed_data_reads_a_few_rows_not_the_table(appeal_types):
    now = mixed(due=0)
    total = 0
    for sql in locking_statements(now):
        nodes = explain_analyze(sql)
        assert_reads_its_partial_index(sql, nodes)
        total += rows_read(nodes)
    assert total <= 300, f"an idle sweep read {total} rows of {OPEN + DECIDED}"

"""With 100,000 open appeals of which 100 are due, a sweep reads only the due rows."""

import json

import pytest
from django.db import connection
from django.utils import timezone

from tickets.generate import appeals_generate
from tickets.models import Appeal
from tickets.sla import sla_sweep

pytestmark = pytest.mark.django_db


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(qs) -> list[dict]:
    return list(plan_nodes(json.loads(qs.explain(format="json", analyze=True))[0]["Plan"]))


@pytest.fixture
def hundred_thousand_open_hundred_due(appeal_types):
    if connection.vendor != "postgresql":
        pytest.fail("the scale test needs PostgreSQL (make test runs it there)")
    now = timezone.now()
    assert appeals_generate(count=100_000, due=100, now=now, seed=7, open_only=True, related=False) == 100_100
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load
    return now


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
    ):
        assert index_scan(explain(getattr(Appeal.objects, selector)(now))) == (index, rows, 0), selector


def test_one_sweep_escalates_exactly_the_due_appeals(hundred_thousand_open_hundred_due):
    report = sla_sweep(now=hundred_thousand_open_hundred_due)
    assert len(report.escalated) == 100 and report.warned == []
    assert Appeal.objects.filter(state="escalated", sla_stage=2).count() == 100
    assert sla_sweep(now=hundred_thousand_open_hundred_due).breached == []

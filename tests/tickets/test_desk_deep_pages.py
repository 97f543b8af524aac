"""The 1,001st page of a console queue is read the way the first is: one index seek to the cursor,
then one page of rows. Checked on the exact statement the console runs, on mixed data (open and
decided appeals, past and future due times) after ANALYZE."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tickets.factories import SupervisorFactory
from tickets.models import CLOSED_STATES, OPEN_STATES, Appeal
from tickets.seed.generate import appeals_generate, busiest_open_type_and_state
from tickets.selectors import _cursor_encode

pytestmark = pytest.mark.django_db

SIZE = 25
DEEP = 1001


@pytest.fixture(scope="module")
def mixed_appeals(bulk_rows, request):
    """Built once for the module's tests (each only reads it), removed after them."""
    if connection.vendor != "postgresql":
        pytest.fail("the plan test needs PostgreSQL (make test runs it there)")

    def make():
        appeals_generate(count=70_000, seed=13, related=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tickets_appeal")  # as autovacuum would after a bulk load

    bulk_rows.build(request, make)


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def the_page_query(client, params: dict) -> tuple[str, list]:
    """The statement that reads the page's appeals, as the console sent it, and the page's rows."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("desk:queue"), params)
    assert response.status_code == 200
    (sql,) = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "tickets_appeal"' in q["sql"] and "ORDER BY" in q["sql"] and "LIMIT" in q["sql"]
    ]
    return sql, response.context["page"].rows


def appeal_scan(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (result,) = cursor.fetchone()
    (plan,) = json.loads(result) if isinstance(result, str) else result
    (scan,) = [n for n in plan_nodes(plan["Plan"]) if n.get("Relation Name") == "tickets_appeal"]
    return scan


@pytest.mark.parametrize(
    ("queue", "states", "field", "descending", "index"),
    [
        ("open", OPEN_STATES, "sla_due_at", False, "appeal_open_due"),
        ("decided", CLOSED_STATES, "closed_at", True, "appeal_closed_recent"),
    ],
)
def test_page_1001_is_an_index_seek_like_page_1(client, mixed_appeals, queue, states, field, descending, index):
    client.force_login(SupervisorFactory())
    order = ("-" if descending else "") + field
    ordered = Appeal.objects.filter(state__in=states, **{f"{field}__isnull": False}).order_by(
        order, "-pk" if descending else "pk"
    )
    last_before = ordered.only(field)[(DEEP - 1) * SIZE - 1]
    expected = list(ordered.values_list("reference", flat=True)[(DEEP - 1) * SIZE : DEEP * SIZE])
    assert len(expected) == SIZE

    first_sql, _ = the_page_query(client, {"queue": queue, "size": SIZE})
    deep_sql, rows = the_page_query(
        client, {"queue": queue, "size": SIZE, "after": _cursor_encode(getattr(last_before, field), last_before.pk)}
    )
    assert [row.reference for row in rows] == expected

    first, deep = appeal_scan(first_sql), appeal_scan(deep_sql)
    for scan in (first, deep):
        assert scan["Node Type"] == "Index Scan" and scan["Index Name"] == index, scan
        # A seek reads the page (and the one row that says there is a next page), nothing it throws away.
        assert scan["Actual Rows"] == SIZE + 1 and scan.get("Rows Removed by Filter", 0) == 0, scan
    # The cursor bounds the scan itself: a row comparison in the Index Cond, not a filter over rows read.
    assert f"ROW({field}, id) {'<' if descending else '>'} ROW(" in deep["Index Cond"], deep


@pytest.mark.parametrize("filters", [["appeal_type"], ["appeal_type", "state"]])
def test_a_queue_filtered_by_type_seeks_to_that_types_appeals(client, mixed_appeals, filters):
    """Types have different SLAs: walking all open appeals in due order to find one type's read past
    thousands of other types' rows."""
    client.force_login(SupervisorFactory())
    chosen = busiest_open_type_and_state()
    sql, rows = the_page_query(client, {"queue": "open", "size": SIZE, **{k: chosen[k] for k in filters}})
    assert len(rows) == SIZE
    scan = appeal_scan(sql)
    assert scan["Node Type"] == "Index Scan" and scan["Index Name"] == "appeal_type_due", scan
    assert scan["Actual Rows"] == SIZE + 1 and scan.get("Rows Removed by Filter", 0) <= 10 * SIZE, scan

"""The agent console at 10 k, 100 k and 1 M appeals: server time, query count, and the same SQL run raw.

The data is a realistic mix (types, states, ages, assignees, events, evidence rows) from
`generate_appeals`. Set BENCH_SIZES (e.g. "10000,100000") to run a subset. Measured: the default
queue (page 1), its page 1,001 (where the queue is that long: the cursor is read from the data, as
following "Next page" 1,000 times would give it), a filtered queue that fills its 50 rows, the open
queue sorted by risk score and the "High risk" queue (page 1, and page 1,001 or the High risk queue's
last full page, against page 1), a search, and one appeal's page. Over real HTTP: bench_console_http.py."""

import os
import statistics
import time
from contextlib import contextmanager
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection
from django.template import Template
from django.test.utils import CaptureQueriesContext, _TestState
from django.urls import reverse

from tests.tickets.factories import SupervisorFactory
from tickets.models import OPEN_STATES, Appeal, AppealType
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.generate import appeals_generate, busiest_open_type_and_state
from tickets.selectors import _cursor_encode
from tickets.sla.sweep import sla_sweep

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
RUNS = 40
DEEP_PAGE = 1001


def percentile(values, p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


@contextmanager
def production_rendering():
    """The test environment wraps every template render to record its context for assertions;
    a server does not. Time what a server does."""
    instrumented = Template._render
    Template._render = _TestState.saved_data.template_render  # what setup_test_environment replaced
    try:
        yield
    finally:
        Template._render = instrumented


def measure(client, url: str, rows: int | None = None) -> dict:
    with production_rendering():
        return _measure(client, url, rows)


def _measure(client, url: str, rows: int | None) -> dict:
    for _ in range(3):  # warm caches, as a working console would have
        response = client.get(url)
        assert response.status_code == 200
    if rows is not None:  # the page shows what it claims to measure
        assert response.content.count(b"<tr data-appeal=") == rows, url
    server, cpu, raw, queries = [], [], [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            server.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200
        queries = len(captured)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute(query["sql"])
                if cursor.description:
                    cursor.fetchall()
        raw.append((time.perf_counter() - start) * 1000)
    return {
        "p50": statistics.median(server),
        "p95": percentile(server, 0.95),
        "queries": queries,
        "raw_p50": statistics.median(raw),
        "cpu_p50": statistics.median(cpu),
    }


def report(record, name: str, size: int, figures: dict, *, p95_target=None, queries_target=None, ratio_target=None):
    label = f"{name} @ {size:,}"
    record(f"{label}: p50", figures["p50"], "ms")
    record(f"{label}: p95", figures["p95"], "ms", target=p95_target)
    record(f"{label}: queries", figures["queries"], "", target=queries_target)
    record(f"{label}: raw SQL p50", figures["raw_p50"], "ms")
    # The Python process's own CPU per request (PostgreSQL's work is not in it): what the machine's
    # other load does not change.
    record(f"{label}: server CPU p50", figures["cpu_p50"], "ms")
    record(f"{label}: server / raw SQL", figures["p50"] / max(figures["raw_p50"], 0.001), "x", target=ratio_target)


def deep_cursor(page: int, size: int = 50, *, field: str = "sla_due_at", descending: bool = False, **filters) -> str | None:
    """The `after` cursor of an open queue's page `page` (by default the all-open queue, nearest SLA
    first), read from the data (what following "Next page" page - 1 times would give), or None when
    the queue is shorter."""
    order = "-" if descending else ""
    ordered = Appeal.objects.filter(state__in=OPEN_STATES, **{f"{field}__isnull": False}, **filters).order_by(
        f"{order}{field}", f"{order}pk"
    )
    last = ordered.values_list(field, "pk")[(page - 1) * size - 1 : (page - 1) * size]
    return _cursor_encode(*last[0]) if last else None


def deepest_page(page: int, size: int = 50, **filters) -> int:
    """`page`, or the last full page of the open appeals matching `filters` when there are fewer."""
    return max(1, min(page, Appeal.objects.filter(state__in=OPEN_STATES, **filters).count() // size))


def report_deep(record, client, name: str, size: int, params: dict, page: int, cursor: str) -> None:
    """Page `page` of a queue against its page 1, asked for the same way: only the cursor differs."""
    queue = reverse("desk:queue")
    first = measure(client, f"{queue}?{urlencode(params)}", rows=50)
    deep = measure(client, f"{queue}?{urlencode({**params, 'after': cursor})}", rows=50)
    report(record, f"{name} page {page:,}", size, deep, queries_target=10)
    record(f"{name} page {page:,} @ {size:,}: p50 ÷ page 1 p50", deep["p50"] / first["p50"], "x", target=1.5)
    record(f"{name} page {page:,} @ {size:,}: raw SQL ÷ page 1 raw SQL", deep["raw_p50"] / first["raw_p50"], "x", target=1.5)


def test_console_at_scale(record, client):
    appeal_types_seed(AppealType)
    client.force_login(SupervisorFactory(username="bench_supervisor"))
    queue = reverse("desk:queue")
    present = 0
    for size in SIZES:
        start = time.perf_counter()
        appeals_generate(count=size - present, seed=size)
        record(f"generate_appeals: {size - present:,} appeals with events and evidence", (time.perf_counter() - start), "s")
        present = size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        sample = Appeal.objects.open().order_by("sla_due_at").only("reference", "contact_email", "appeal_type_id")[1000]
        first = measure(client, queue, rows=50)
        report(record, "/desk/ default queue", size, first, p95_target=25, queries_target=10, ratio_target=3)
        if cursor := deep_cursor(DEEP_PAGE):
            # Page 1 and page 1,001 of the same queue, asked for the same way (`?queue=open`, so both
            # validate the same filter form): only the cursor differs.
            first_open = measure(client, f"{queue}?queue=open", rows=50)
            deep = measure(client, f"{queue}?{urlencode({'queue': 'open', 'after': cursor})}", rows=50)
            report(record, f"/desk/ page {DEEP_PAGE:,}", size, deep, queries_target=10)
            record(f"/desk/ page {DEEP_PAGE:,} @ {size:,}: p50 ÷ page 1 p50", deep["p50"] / first_open["p50"], "x", target=1.5)
            record(
                f"/desk/ page {DEEP_PAGE:,} @ {size:,}: raw SQL ÷ page 1 raw SQL",
                deep["raw_p50"] / first_open["raw_p50"],
                "x",
                target=1.5,
            )
        filtered = f"{queue}?{urlencode({'queue': 'open', **busiest_open_type_and_state()})}"
        report(
            record,
            "/desk/ filtered by type + state (50 rows)",
            size,
            measure(client, filtered, rows=50),
            p95_target=25,
            queries_target=10,
            ratio_target=3,
        )
        high = {"risk_score__gte": settings.RISK_HIGH_THRESHOLD}
        for name, params, deep_page, filters in (
            ("/desk/ sorted by risk score", {"queue": "open", "sort": "risk"}, DEEP_PAGE, {}),
            # The High risk queue is shorter (one open appeal in twenty): its last full page, up to 1,001.
            ("/desk/ High risk queue", {"queue": "high_risk"}, deepest_page(DEEP_PAGE, **high), high),
        ):
            report(
                record,
                f"{name} (50 rows)",
                size,
                measure(client, f"{queue}?{urlencode(params)}", rows=50),
                p95_target=25,
                queries_target=10,
                ratio_target=3,
            )
            if deep_page > 1 and (cursor := deep_cursor(deep_page, field="risk_score", descending=True, **filters)):
                report_deep(record, client, name, size, params, deep_page, cursor)
        searched = f"{queue}?queue=open&appeal_type={sample.appeal_type_id}&q={sample.contact_email.upper()}"
        report(record, "/desk/ filtered + searched", size, measure(client, searched), queries_target=10)
        report(
            record,
            "/desk/appeals/<ref>/ detail",
            size,
            measure(client, reverse("desk:appeal", args=[sample.reference])),
            queries_target=15,
        )


def test_sla_sweep_at_1m_open_with_1000_due(record):
    appeal_types_seed(AppealType)
    if max(SIZES) < 1_000_000:
        return
    from django.utils import timezone

    now = timezone.now()
    appeals_generate(count=1_000_000, due=1000, now=now, seed=2, open_only=True, related=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_appeal")
    start = time.perf_counter()
    report_ = sla_sweep(now=now)
    elapsed = (time.perf_counter() - start) * 1000
    assert len(report_.escalated) == 1000
    record("sla_sweep: 1,000 due of 1,001,000 open (escalate all)", elapsed, "ms", target=1000)

"""The agent console at 10 k, 100 k and 1 M appeals: server time, query count, and the same SQL run raw.

The data is a realistic mix (types, states, ages, assignees, events, evidence rows) from
`generate_appeals`. Set BENCH_SIZES (e.g. "10000,100000") to run a subset."""

import os
import statistics
import time
from contextlib import contextmanager

from django.db import connection
from django.template import Template
from django.test.utils import _TestState
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tickets.factories import SupervisorFactory
from tickets.appeal_types import appeal_types_seed
from tickets.generate import appeals_generate
from tickets.models import Appeal, AppealType
from tickets.sla import sla_sweep

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
RUNS = 40


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


def measure(client, url: str) -> dict:
    with production_rendering():
        return _measure(client, url)


def _measure(client, url: str) -> dict:
    for _ in range(3):  # warm caches, as a working console would have
        assert client.get(url).status_code == 200
    server, raw, queries = [], [], 0
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            server.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
        queries = len(captured)
        start = time.perf_counter()
        with connection.cursor() as cursor:
            for query in captured.captured_queries:
                cursor.execute(query["sql"])
                if cursor.description:
                    cursor.fetchall()
        raw.append((time.perf_counter() - start) * 1000)
    return {"p50": statistics.median(server), "p95": percentile(server, 0.95), "queries": queries,
            "raw_p50": statistics.median(raw)}


def report(record, name: str, size: int, figures: dict, *, p95_target=None, queries_target=None):
    label = f"{name} @ {size:,}"
    record(f"{label}: p50", figures["p50"], "ms")
    record(f"{label}: p95", figures["p95"], "ms", target=p95_target)
    record(f"{label}: queries", figures["queries"], "", target=queries_target)
    record(f"{label}: raw SQL p50", figures["raw_p50"], "ms")
    record(f"{label}: server / raw SQL", figures["p50"] / max(figures["raw_p50"], 0.001), "x", target=3 if p95_target else None)


def test_console_at_scale(record, client):
    appeal_types_seed(AppealType)
    client.force_login(SupervisorFactory(username="bench_supervisor"))
    present = 0
    for size in SIZES:
        start = time.perf_counter()
        appeals_generate(count=size - present, seed=size)
        record(f"generate_appeals: {size - present:,} appeals with events and evidence", (time.perf_counter() - start), "s")
        present = size
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

        sample = Appeal.objects.open().order_by("sla_due_at").only("reference", "contact_email", "appeal_type_id")[1000]
        report(record, "/desk/ default queue", size, measure(client, reverse("desk:queue")), p95_target=50, queries_target=10)
        searched = f"{reverse('desk:queue')}?queue=open&appeal_type={sample.appeal_type_id}&q={sample.contact_email.upper()}"
        report(record, "/desk/ filtered + searched", size, measure(client, searched), p95_target=50, queries_target=10)
        report(record, "/desk/appeals/<ref>/ detail", size, measure(client, reverse("desk:appeal", args=[sample.reference])),
               queries_target=15)


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

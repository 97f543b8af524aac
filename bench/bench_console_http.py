"""The console over real HTTP: gunicorn as deployed (supportdesk/gunicorn_conf.py: 3 workers × 8
gthread threads), 8 clients with a signed-in supervisor's session cookie asking for /desk/ on a
committed database of BENCH_HTTP_SIZE appeals (default 200,000, with their events and evidence).

The same run serves the same data from the code of BENCH_BASELINE (default 6af1c9e, the code before
the performance work of issue 13: a database connection per request, the old queue page), extracted
with `git archive` into a temporary folder and started from there with the same interpreter and
environment. The two servers take turns (new, old, new, old) so a change in the machine's load
falls on both. Besides requests per second, each turn reads the CPU seconds gunicorn spent
(bench/processes.py) and the connections PostgreSQL saw opened: figures that do not depend on what
else the machine runs. Each turn then serves, from this code only (the baseline has neither), the
open queue sorted by risk score (page 1 and page 1,001) and the "High risk" queue (page 1 and its
last full page, up to 1,001), each held to the default queue's target: ≥ 1.7× the baseline's
default queue."""

import http.client
import io
import os
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from bench.bench_console import DEEP_PAGE, deep_cursor, deepest_page
from bench.processes import web_and_services
from tests.faults import ROOT
from tests.servers import Gunicorn
from tests.tickets.factories import SupervisorFactory
from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.generate import appeals_generate

SIZE = int(os.environ.get("BENCH_HTTP_SIZE", "200000"))
BASELINE = os.environ.get("BENCH_BASELINE", "6af1c9e")
CLIENTS = 8
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "15"))
TURNS = 2


def extract(commit: str, into: Path) -> Path:
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def database_sessions() -> int:
    """Connections ever opened to the test database (PostgreSQL 14+ counts them per database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def load(port: int, cookie: str, seconds: float, path: str = "/desk/") -> tuple[int, list[int]]:
    """CLIENTS keep-alive connections asking for `path` for `seconds`: (pages served, failures)."""
    done, failures, stop_at = [0] * CLIENTS, [], time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            conn.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
            response = conn.getresponse()
            body = response.read()
            if response.status == 200 and b"data-appeal=" in body:
                done[index] += 1
            else:
                failures.append(response.status)
            if response.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return sum(done), failures


@pytest.mark.django_db(transaction=True)
def test_console_over_http_against_the_baseline(record, tmp_path, monkeypatch):
    # Each version runs with its own default for persistent connections.
    monkeypatch.delenv("DATABASE_CONN_MAX_AGE", raising=False)
    appeal_types_seed(AppealType)
    appeals_generate(count=SIZE, seed=31)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # committed data, as autovacuum would leave it
    client = Client()
    client.force_login(SupervisorFactory(username="bench_http_supervisor"))
    cookie = client.cookies["sessionid"].value

    # The queue sorted by risk score (page 1, page 1,001) and the High risk queue exist in this code
    # only: each is held to the default queue's target against the baseline's default queue.
    high_risk = {"risk_score__gte": settings.RISK_HIGH_THRESHOLD}
    extra = {"sorted by risk score": {"queue": "open", "sort": "risk"}}
    if cursor := deep_cursor(DEEP_PAGE, field="risk_score", descending=True):
        extra[f"sorted by risk score, page {DEEP_PAGE:,}"] = {"queue": "open", "sort": "risk", "after": cursor}
    extra["High risk queue"] = {"queue": "high_risk"}
    last = deepest_page(DEEP_PAGE, **high_risk)
    if last > 1 and (cursor := deep_cursor(last, field="risk_score", descending=True, **high_risk)):
        extra[f"High risk queue, page {last:,}"] = {"queue": "high_risk", "after": cursor}

    baseline = extract(BASELINE, tmp_path / "baseline")
    for logs in ("new-logs", "baseline-logs"):
        (tmp_path / logs).mkdir()
    served: dict[str, list] = {}
    cpu, sessions = {}, {}
    with Gunicorn(tmp_path / "new-logs") as new, Gunicorn(tmp_path / "baseline-logs", root=baseline) as old:
        servers = {"new": new, "old": old}
        # Each turn: this code, the baseline, then this code's risk queues.
        runs = [("new", new, "/desk/"), ("old", old, "/desk/")]
        runs += [(name, new, f"/desk/?{urlencode(params)}") for name, params in extra.items()]
        for server in servers.values():  # warm up: imports, templates, cached reference data
            count, failures = load(server.port, cookie, 2)
            assert failures == [] and count, server.logs()
        for _ in range(TURNS):
            for name, server, path in runs:
                meter = web_and_services(server.process.pid)
                meter.start()
                sessions_before, started = database_sessions(), time.monotonic()
                count, failures = load(server.port, cookie, SECONDS, path)
                elapsed = time.monotonic() - started
                assert failures == [], (name, failures[:5], server.logs()[-2000:])
                totals = served.setdefault(name, [0, 0.0])
                totals[0] += count
                totals[1] += elapsed
                web = meter.stop()["web"]
                time.sleep(1.5)  # backends report their session counts at most once a second
                cpu[name] = cpu.get(name, 0.0) + web
                sessions[name] = sessions.get(name, 0) + database_sessions() - sessions_before

    rate = {name: count / elapsed for name, (count, elapsed) in served.items()}
    note = (
        f"{SIZE:,} appeals, {CLIENTS} clients, gunicorn 3 workers × 8 threads, {TURNS} × {SECONDS:g} s each, baseline {BASELINE}"
    )
    record(f"/desk/ over HTTP @ {SIZE:,}: requests/s, baseline {BASELINE}", rate["old"], "/s", note=note)
    record(f"/desk/ over HTTP @ {SIZE:,}: requests/s, this code", rate["new"], "/s", note=note)
    # Lower is better in the table: the new code's time per request as a share of the old one's
    # (≤ 0.588 means at least 1.7× the requests per second).
    record(
        f"/desk/ over HTTP @ {SIZE:,}: old req/s ÷ new req/s",
        rate["old"] / rate["new"],
        "x",
        target=round(1 / 1.7, 3),
        note=f"speed-up {rate['new'] / rate['old']:.2f}×",
    )
    for name in ("old", "new"):
        # gunicorn's own CPU (its process tree is this benchmark's alone; PostgreSQL's processes are
        # shared with whatever else the machine runs, so they are not split per request here).
        record(f"/desk/ over HTTP @ {SIZE:,}: web CPU per request ({name})", 1000 * cpu[name] / served[name][0], "ms")
        record(
            f"/desk/ over HTTP @ {SIZE:,}: database connections opened per request ({name})", sessions[name] / served[name][0], ""
        )
    for name in extra:
        label = f"/desk/ {name} over HTTP @ {SIZE:,}"
        record(f"{label}: requests/s, this code", rate[name], "/s", note=note)
        record(
            f"{label}: baseline default queue req/s ÷ this req/s",
            rate["old"] / rate[name],
            "x",
            target=round(1 / 1.7, 3),
            note=f"{rate[name] / rate['old']:.2f}× the baseline's default queue",
        )
        record(f"{label}: web CPU per request", 1000 * cpu[name] / served[name][0], "ms")

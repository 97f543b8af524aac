"""Submission: gunicorn as deployed (supportdesk/gunicorn_conf.py, persistent database connections)
on 127.0.0.1, appeals with three ~1 MB photos.

1. CPU per appeal: one client files BENCH_CPU_APPEALS appeals one after another (after a warm-up, so
   every gunicorn thread holds its database connection); the CPU seconds of gunicorn's processes,
   PostgreSQL and Redis over that run, read from /proc (bench/processes.py), divided by the appeals.
   The PostgreSQL and Redis servers are shared with whatever else runs on the machine: the row for
   this database's own backends is the part that load elsewhere cannot inflate.
2. Throughput: 16 concurrent clients for a bounded time; requests per second and latency percentiles.

No Celery worker runs: what a submission queues (one task per appeal) waits in Redis and is purged.
"""

import http.client
import io
import os
import re
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from PIL import Image

from bench.processes import named, web_and_services
from supportdesk.celery import app as celery_app
from tests.servers import Gunicorn
from tests.tickets.factories import VALID_ID_NUMBER
from tickets.models import Appeal, AppealType
from tickets.seed.appeal_types import appeal_types_seed

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
DURATION = float(os.environ.get("BENCH_SECONDS", "20"))
APPEAL_URL = "/appeals/new/realname_unbind/"
CPU_APPEALS = int(os.environ.get("BENCH_CPU_APPEALS", "100"))
CPU_WARM_UP = 12  # more than gunicorn's threads in all: each has opened its database connection


def photo(seed: int) -> bytes:
    """About 1 MB of JPEG: a 2000×1500 photo-like image."""
    image = Image.effect_noise((2000, 1500), 40 + seed).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def appeal_form(port: int, photos: list[bytes]) -> tuple[http.client.HTTPConnection, bytes, dict]:
    """A connection that has fetched the appeal form (CSRF cookie and token), and the body and headers
    of an appeal with the three photos, ready to POST to APPEAL_URL again and again."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", APPEAL_URL)
    response = connection.getresponse()
    page = response.read().decode()
    cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie", "")).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    fields = {
        "csrfmiddlewaretoken": token,
        "contact_email": "load@example.com",
        "language": "en",
        "account_identifier": "load_test",
        "id_number": VALID_ID_NUMBER,
        "consent_id_images": "on",
        "letter_background": "Load test.",
        "letter_steps_taken": "Load test.",
        "letter_request": "Load test.",
    }
    body, content_type = multipart(
        fields,
        {
            "evidence_id_front": ("front.jpg", photos[0]),
            "evidence_id_back": ("back.jpg", photos[1]),
            "evidence_id_handheld": ("me.jpg", photos[2]),
        },
    )
    headers = {"Content-Type": content_type, "Cookie": f"csrftoken={cookie}", "Referer": f"http://127.0.0.1:{port}/"}
    return connection, body, headers


def post_until(
    connection, path: str, body: bytes, headers, *, expect: int, stop_at: float, latencies: list, failures: list, count=None
):
    """POST `body` until `stop_at` (or `count` times) on one keep-alive connection: the latency of each
    answer with status `expect`, the status of any other. `headers` is a dict, or a function giving one."""
    while time.monotonic() < stop_at and (count is None or len(latencies) + len(failures) < count):
        start = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers() if callable(headers) else headers)
        response = connection.getresponse()
        response.read()
        if response.status == expect:
            latencies.append((time.perf_counter() - start) * 1000)
        else:
            failures.append(response.status)
    connection.close()


def client_loop(port: int, photos: list[bytes], stop_at: float, latencies: list, failures: list, count: int | None = None):
    """Post appeals until `stop_at` (or `count` of them), on one keep-alive connection."""
    connection, body, headers = appeal_form(port, photos)
    post_until(
        connection, APPEAL_URL, body, headers, expect=302, stop_at=stop_at, latencies=latencies, failures=failures, count=count
    )


def _backends_of(database: str):
    """The PostgreSQL backends serving `database` (their command line names it)."""

    def pids(processes):
        found = set()
        for pid in named("postgres", processes=processes):
            try:
                words = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").split()
            except OSError:
                continue
            if database.encode() in words:
                found.add(pid)
        return found

    return pids


def cpu_per_appeal(port: int, server_pid: int, photos: list[bytes], record) -> None:
    latencies, failures = [], []
    client_loop(port, photos, time.monotonic() + 600, latencies, failures, count=CPU_WARM_UP)
    meter = web_and_services(server_pid)
    meter.groups["postgresql: this database's backends"] = _backends_of(connection.settings_dict["NAME"])
    latencies, failures = [], []
    meter.start()
    client_loop(port, photos, time.monotonic() + 600, latencies, failures, count=CPU_APPEALS)
    spent = meter.stop()
    assert failures == [] and len(latencies) == CPU_APPEALS
    per_appeal = {label: seconds * 1000 / CPU_APPEALS for label, seconds in spent.items()}
    total = per_appeal["web"] + per_appeal["postgresql"] + per_appeal["redis"]
    own = next(label for label in per_appeal if label.startswith("postgresql: "))
    note = (
        f"{CPU_APPEALS} appeals one after another, 3 photos each; web {per_appeal['web']:.1f} + PostgreSQL "
        f"{per_appeal['postgresql']:.1f} (this database's backends {per_appeal[own]:.1f})"
        f" + Redis {per_appeal['redis']:.1f} ms"
    )
    record("submission: CPU per appeal (web + database + broker)", total, "ms", target=25, note=note)
    record("submission: CPU per appeal, web (gunicorn)", per_appeal["web"], "ms")
    record("submission: CPU per appeal, PostgreSQL", per_appeal["postgresql"], "ms")
    record("submission: CPU per appeal, PostgreSQL backends of this database", per_appeal[own], "ms")
    record("submission: CPU per appeal, Redis", per_appeal["redis"], "ms")


@pytest.mark.django_db(transaction=True)
def test_submission_throughput(record, tmp_path):
    appeal_types_seed(AppealType)
    server = Gunicorn(  # as deployed: gunicorn_conf.py's workers, threads and logging
        tmp_path,
        EVIDENCE_ROOT=str(tmp_path / "evidence"),
        RATELIMIT_ENABLE="0",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DATABASE_CONN_MAX_AGE=os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        GUNICORN_LOG_LEVEL="warning",
    )
    try:
        with server:
            port = server.port
            photos = [photo(seed) for seed in range(3)]
            cpu_per_appeal(port, server.process.pid, photos, record)
            filed_before = Appeal.objects.count()
            latencies, failures = [], []
            stop_at = time.monotonic() + DURATION
            threads = [
                threading.Thread(target=client_loop, args=(port, photos, stop_at, latencies, failures)) for _ in range(CLIENTS)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=DURATION + 120)
            elapsed = time.monotonic() - started
    finally:
        celery_app.control.purge()  # the follow-up tasks nobody consumes here (no worker runs)
    assert failures == [] and latencies
    assert Appeal.objects.count() - filed_before == len(latencies)
    latencies.sort()
    size = sum(len(p) for p in photos) / 1e6
    gunicorn = f"gunicorn {os.environ.get('GUNICORN_WORKERS', '3')} workers × {os.environ.get('GUNICORN_THREADS', '8')} threads"
    note = f"{CLIENTS} clients, {DURATION:g} s, {gunicorn}, 3 photos = {size:.1f} MB per appeal"
    record(f"submission: appeals per second at {CLIENTS} clients", len(latencies) / elapsed, "/s", note=note)
    record(f"submission: p50 at {CLIENTS} clients", statistics.median(latencies), "ms")
    record(f"submission: p95 at {CLIENTS} clients", latencies[round(0.95 * (len(latencies) - 1))], "ms", target=300, note=note)

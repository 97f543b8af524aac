"""Submission throughput: gunicorn on 127.0.0.1, 16 concurrent clients each posting an appeal with
three ~1 MB photos, for a bounded time. Requests per second and latency percentiles."""

import http.client
import io
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from PIL import Image

from supportdesk.celery import app as celery_app
from tests.conftest import free_port
from tests.faults import subprocess_database_url, wait_until
from tests.tickets.factories import VALID_ID_NUMBER
from tickets.appeal_types import appeal_types_seed
from tickets.models import Appeal, AppealType

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
DURATION = float(os.environ.get("BENCH_SECONDS", "20"))
APPEAL_URL = "/appeals/new/realname_unbind/"


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
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                  f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
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
        "csrfmiddlewaretoken": token, "contact_email": "load@example.com", "language": "en",
        "account_identifier": "load_test", "id_number": VALID_ID_NUMBER, "consent_id_images": "on",
        "letter_background": "Load test.", "letter_steps_taken": "Load test.", "letter_request": "Load test.",
    }
    body, content_type = multipart(fields, {
        "evidence_id_front": ("front.jpg", photos[0]), "evidence_id_back": ("back.jpg", photos[1]),
        "evidence_id_handheld": ("me.jpg", photos[2]),
    })
    headers = {"Content-Type": content_type, "Cookie": f"csrftoken={cookie}", "Referer": f"http://127.0.0.1:{port}/"}
    return connection, body, headers


def client_loop(port: int, photos: list[bytes], stop_at: float, latencies: list, failures: list):
    connection, body, headers = appeal_form(port, photos)
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        connection.request("POST", APPEAL_URL, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 302:
            latencies.append((time.perf_counter() - start) * 1000)
        else:
            failures.append(response.status)
    connection.close()


def answers(port: int) -> bool:
    """The server on `port` answers /healthz (whether or not everything behind it is up)."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status in (200, 503)
    except OSError:
        return False


@pytest.mark.django_db(transaction=True)
def test_submission_throughput(record, tmp_path):
    appeal_types_seed(AppealType)
    with connection.cursor() as cursor:  # earlier benchmarks roll back millions of rows: clean up first
        cursor.execute("VACUUM ANALYZE")
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": subprocess_database_url(), "EVIDENCE_ROOT": str(tmp_path / "evidence"),
        "RATELIMIT_ENABLE": "0", "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    workers = os.cpu_count() or 2
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "supportdesk.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )
    try:
        wait_until(lambda: answers(port), 60, "gunicorn to start")
        photos = [photo(seed) for seed in range(3)]
        latencies, failures = [], []
        stop_at = time.monotonic() + DURATION
        threads = [threading.Thread(target=client_loop, args=(port, photos, stop_at, latencies, failures)) for _ in range(CLIENTS)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION + 120)
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        celery_app.control.purge()  # the processing and e-mail tasks nobody consumes here
    assert failures == [] and latencies
    assert Appeal.objects.count() == len(latencies)
    latencies.sort()
    size = sum(len(p) for p in photos) / 1e6
    note = f"{CLIENTS} clients, {DURATION:g} s, gunicorn {workers} workers × 4 threads, 3 photos = {size:.1f} MB per appeal"
    record(f"submission: appeals per second at {CLIENTS} clients", len(latencies) / elapsed, "/s", note=note)
    record(f"submission: p50 at {CLIENTS} clients", statistics.median(latencies), "ms")
    record(f"submission: p95 at {CLIENTS} clients", latencies[round(0.95 * (len(latencies) - 1))], "ms", target=300, note=note)

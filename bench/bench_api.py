"""The platform API: `POST /api/v1/appeals/` on gunicorn as deployed (supportdesk/gunicorn_conf.py) on
127.0.0.1, appeals with three ~1 MB photos and an API key, from one client and from 8 at once, for a
bounded time each; latency p50 and p95. Each request carries its own Idempotency-Key (as a platform's
would), so the idempotency record is part of what is measured. No Celery worker runs: what a
submission queues waits in Redis and is purged."""

import http.client
import os
import statistics
import threading
import time
import uuid

import pytest

from bench.bench_submission import multipart, photo, post_until
from integrations.models import Integration, IntegrationAPIKey
from supportdesk.celery import app as celery_app
from tests.servers import Gunicorn
from tests.tickets.factories import VALID_ID_NUMBER
from tickets.models import Appeal, AppealType
from tickets.seed.appeal_types import appeal_types_seed

DURATION = float(os.environ.get("BENCH_API_SECONDS", "10"))
CREATE_URL = "/api/v1/appeals/"
FIELDS = {
    "appeal_type": "realname_unbind",
    "contact_email": "load@example.com",
    "language": "en",
    "account_identifier": "load_test",
    "id_number": VALID_ID_NUMBER,
    "consent_id_images": "true",
    "letter_background": "Load test.",
    "letter_steps_taken": "Load test.",
    "letter_request": "Load test.",
    "registered_contacts": '[{"kind": "phone", "value": "13800138000"}]',
}


def client_loop(port: int, key: str, body: bytes, content_type: str, stop_at: float, latencies: list, failures: list):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def headers() -> dict:
        return {"Content-Type": content_type, "Authorization": f"Api-Key {key}", "Idempotency-Key": uuid.uuid4().hex}

    post_until(connection, CREATE_URL, body, headers, expect=201, stop_at=stop_at, latencies=latencies, failures=failures)


def run_clients(port: int, key: str, body: bytes, content_type: str, clients: int) -> tuple[list, list, float]:
    latencies, failures = [], []
    stop_at = time.monotonic() + DURATION
    threads = [
        threading.Thread(target=client_loop, args=(port, key, body, content_type, stop_at, latencies, failures))
        for _ in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DURATION + 120)
    return latencies, failures, time.monotonic() - started


@pytest.mark.django_db(transaction=True)
def test_api_create_latency(record, tmp_path):
    appeal_types_seed(AppealType)
    integration = Integration.objects.create(name="Load test")
    _key, key = IntegrationAPIKey.objects.create_key(
        integration=integration, name="bench", scopes=["appeals:write"], rate_limit="1000000/min"
    )
    photos = [photo(seed) for seed in range(3)]
    body, content_type = multipart(
        FIELDS,
        {
            "evidence_id_front": ("front.jpg", photos[0]),
            "evidence_id_back": ("back.jpg", photos[1]),
            "evidence_id_handheld": ("me.jpg", photos[2]),
        },
    )
    server = Gunicorn(
        tmp_path, EVIDENCE_ROOT=str(tmp_path / "evidence"), DJANGO_SECURE_SSL_REDIRECT="0", GUNICORN_LOG_LEVEL="warning"
    )
    try:
        with server:
            run_clients(server.port, key, body, content_type, 1)  # warm-up: connections opened, code loaded
            for clients in (1, 8):
                filed_before = Appeal.objects.count()
                latencies, failures, elapsed = run_clients(server.port, key, body, content_type, clients)
                assert failures == [] and latencies, failures[:5]
                assert Appeal.objects.count() - filed_before == len(latencies)
                latencies.sort()
                note = f"{clients} client(s), {DURATION:g} s, 3 photos of ~1 MB, {len(latencies) / elapsed:.1f} appeals/s"
                record(f"API create: p50 at {clients} client(s)", statistics.median(latencies), "ms", note=note)
                record(f"API create: p95 at {clients} client(s)", latencies[round(0.95 * (len(latencies) - 1))], "ms", note=note)
    finally:
        celery_app.control.purge()

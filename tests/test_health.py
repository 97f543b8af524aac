"""/healthz: JSON for monitoring; 200 when the database and Redis answer and evidence can be written, else 503."""

import contextlib
import os
import shutil
import subprocess

import pytest
from django.core.cache import cache

from supportdesk.health import CELERY_STATUS_KEY


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_redis_answer(client, celery_ping_cached):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["redis"] == "ok" and body["evidence_storage"] == "ok"
    assert body["celery"] == "ok (1 worker)"  # the kept answer: no second ping
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_healthz_pings_celery_and_keeps_the_answer_when_no_worker_answers(client):
    assert cache.get(CELERY_STATUS_KEY) is None
    response = client.get("/healthz")
    assert response.status_code == 200  # Celery is reported, not required
    assert response.json()["celery"] == "no worker answered"
    assert cache.get(CELERY_STATUS_KEY) == "no worker answered"


@pytest.mark.django_db
def test_healthz_is_503_when_redis_does_not_answer(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"].startswith("error")


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_a_running_celery_worker(client, celery_worker):
    assert cache.get(CELERY_STATUS_KEY) is None  # a real ping, answered by the worker
    assert client.get("/healthz").json()["celery"].startswith("ok")


@contextlib.contextmanager
def read_only(directory):
    """Make a directory unwritable, even for root (who ignores mode bits): chattr +i there, chmod elsewhere."""
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(directory)], check=True)
    else:
        directory.chmod(0o500)
    try:
        yield
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(directory)], check=True)
        else:
            directory.chmod(0o700)


@pytest.mark.django_db
def test_healthz_is_503_when_evidence_cannot_be_written(client, evidence_root, celery_ping_cached):
    assert client.get("/healthz").json()["evidence_storage"] == "ok"
    with read_only(evidence_root):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["evidence_storage"].startswith("error: cannot write")
    assert body["database"] == "ok" and body["redis"] == "ok" and "celery" in body
    assert list(evidence_root.iterdir()) == []


@pytest.mark.django_db
def test_healthz_is_503_when_evidence_disk_is_nearly_full(client, settings, evidence_root, celery_ping_cached):
    settings.EVIDENCE_MIN_FREE_BYTES = shutil.disk_usage(evidence_root).free + 1024**4
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["evidence_storage"].startswith("error: low disk space")
    assert list(evidence_root.iterdir()) == []

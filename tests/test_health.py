"""/healthz: JSON for monitoring; 200 when the database and Redis answer, else 503."""

import pytest


@pytest.mark.django_db
def test_healthz_is_200_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert "celery" in body
    assert response["Cache-Control"].startswith("max-age=0")


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
    assert client.get("/healthz").json()["celery"].startswith("ok")

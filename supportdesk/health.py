"""/healthz: is the database answering, is Redis answering, is a Celery worker alive."""

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .celery import app as celery_app

CELERY_STATUS_KEY = "healthz:celery"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _redis() -> str:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


def _celery() -> str:
    """Whether a worker answers a ping. Kept for 30 s in the cache: with no worker, a ping waits its
    whole timeout, and a monitoring probe every few seconds must not hold a web worker that long."""
    cached = cache.get(CELERY_STATUS_KEY)
    if cached is not None:
        return cached
    try:
        replies = celery_app.control.ping(timeout=1.0)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    status = f"ok ({len(replies)} worker{'s' if len(replies) != 1 else ''})" if replies else "no worker answered"
    cache.set(CELERY_STATUS_KEY, status, 30)
    return status


@never_cache
def healthz(request):
    report = {"database": _database(), "redis": _redis()}
    report["celery"] = _celery() if report["redis"] == "ok" else "unknown (redis unreachable)"
    healthy = report["database"] == "ok" and report["redis"] == "ok"
    return JsonResponse(report, status=200 if healthy else 503)

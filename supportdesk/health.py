"""/healthz: is the database answering, is Redis answering, can evidence be written, is a Celery worker alive."""

import contextlib
import os
import secrets
import shutil

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


def _evidence_storage() -> str:
    """Whether a new appeal's files can be stored: a probe file written, read back and deleted under
    EVIDENCE_ROOT, and free space above EVIDENCE_MIN_FREE_BYTES."""
    root = settings.EVIDENCE_ROOT
    probe = os.path.join(root, f".healthz-{secrets.token_hex(8)}")
    try:
        os.makedirs(root, exist_ok=True)  # as storage does on the first upload
        with open(probe, "xb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        with open(probe, "rb") as handle:
            if handle.read() != b"ok":
                return "error: the probe file did not read back"
    except OSError as exc:
        return f"error: cannot write ({type(exc).__name__})"
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
    free = shutil.disk_usage(root).free
    if free < settings.EVIDENCE_MIN_FREE_BYTES:
        return f"error: low disk space ({free // (1024 * 1024)} MB free)"
    return "ok"


def _sla_calendar() -> str | None:
    """A warning while an SLA calendar in use needs a year chinesecalendar does not know (not a failure:
    due times are still computed, on weekends and the admin's overrides)."""
    from tickets.sla.coverage import sla_calendar_uncovered_years

    try:
        years = sla_calendar_uncovered_years()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    if years:
        return (
            f"warning: no statutory holidays for {', '.join(map(str, years))} (upgrade chinesecalendar or add them in the admin)"
        )
    return None


@never_cache
def healthz(request):
    report = {"database": _database(), "redis": _redis(), "evidence_storage": _evidence_storage()}
    report["celery"] = _celery() if report["redis"] == "ok" else "unknown (redis unreachable)"
    if report["database"] == "ok" and (calendar := _sla_calendar()):
        report["sla_calendar"] = calendar
    healthy = all(report[check] == "ok" for check in ("database", "redis", "evidence_storage"))
    return JsonResponse(report, status=200 if healthy else 503)

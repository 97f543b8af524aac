"""Celery tasks for evidence: thin wrappers that take ids and call one service. They run on the
"evidence" queue (settings.CELERY_TASK_ROUTES), under the time limits in settings.CELERY_TASK_TIME_LIMITS."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from . import processing, reasons, retention


@shared_task(
    ignore_result=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OSError, OperationalError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def evidence_process(evidence_id: str) -> None:
    try:
        processing.evidence_process(evidence_id=evidence_id)
    except SoftTimeLimitExceeded:
        processing.evidence_process_overran(evidence_id=evidence_id)


@shared_task(ignore_result=True)
def evidence_process_pending() -> int:
    """The beat sweep: queue what is still pending again, each file then processed under its own time
    limits (so one slow file cannot use up the sweep's time and starve the others)."""
    pending = processing.evidence_pending()
    for evidence_id in pending:
        evidence_process.delay(str(evidence_id))
    return len(pending)


@shared_task(ignore_result=True)
def evidence_purge_expired() -> int:
    return retention.evidence_purge_expired()


@shared_task(ignore_result=True)
def evidence_orphans_sweep() -> int:
    from .orphans import evidence_orphans_sweep as orphans_sweep

    return orphans_sweep()


@shared_task(ignore_result=True)
def evidence_reason_digest() -> int:
    """The supervisors' daily digest of the reasons stated to see evidence (beat, hourly; sent once a day)."""
    return reasons.evidence_reason_digest_send()

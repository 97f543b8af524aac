"""Celery tasks for evidence: thin wrappers that take ids and call one service."""

from celery import shared_task
from django.db import OperationalError

from . import processing, retention


@shared_task(
    ignore_result=True, acks_late=True, reject_on_worker_lost=True,
    autoretry_for=(OSError, OperationalError), retry_backoff=True, retry_backoff_max=600, max_retries=8,
)
def evidence_process(evidence_id: str) -> None:
    processing.evidence_process(evidence_id=evidence_id)


@shared_task(ignore_result=True)
def evidence_process_pending() -> int:
    return processing.evidence_process_pending()


@shared_task(ignore_result=True)
def evidence_purge_expired() -> int:
    return retention.evidence_purge_expired()


@shared_task(ignore_result=True)
def evidence_orphans_sweep() -> int:
    from .orphans import evidence_orphans_sweep as orphans_sweep

    return orphans_sweep()

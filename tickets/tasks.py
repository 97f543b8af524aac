"""Celery tasks: thin wrappers that take ids and call one service. Each has soft and hard time limits
(settings.CELERY_TASK_TIME_LIMITS) and runs on the default queue."""

from celery import shared_task
from django.conf import settings

from . import notifications, services, sla, workflow


@shared_task(ignore_result=True)
def email_deliver(email_id: int) -> bool:
    return notifications.outbox_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def outbox_deliver_pending() -> int:
    return notifications.outbox_deliver_pending()


@shared_task(ignore_result=True)
def appeals_abandon_stale() -> int:
    return len(workflow.appeal_abandon_stale(days=settings.ABANDON_AFTER_DAYS))


@shared_task(ignore_result=True)
def sla_sweep() -> str:
    return str(sla.sla_sweep())


@shared_task(ignore_result=True)
def appeal_tracking_link_send(appeal_id: int | None) -> None:
    """Queued by every tracking look-up, after the response; does nothing when no appeal matched."""
    services.appeal_tracking_link_send(appeal_id=appeal_id)


@shared_task(ignore_result=True)
def appeal_submitted(appeal_id: int) -> None:
    """The one task a new appeal queues: its files' processing queued, its acknowledgement sent."""
    services.appeal_submitted_follow_up(appeal_id=appeal_id)

"""Celery tasks of the appeal services: thin wrappers that take ids and call one service. Each has soft
and hard time limits (settings.CELERY_TASK_TIME_LIMITS) and runs on the default queue. Task names are
the ones queued messages and the beat schedule use; they never change."""

from celery import shared_task
from django.conf import settings

from . import appellant, fulfilment, hold, intake, scheduled


@shared_task(name=intake.FOLLOW_UP_TASK, ignore_result=True)
def appeal_submitted(appeal_id: int) -> None:
    """The one task a new appeal queues: its files' processing queued, its acknowledgement sent."""
    intake.appeal_submitted_follow_up(appeal_id=appeal_id)


@shared_task(name=appellant.TRACKING_LINK_TASK, ignore_result=True)
def appeal_tracking_link_send(appeal_id: int | None) -> None:
    """Queued by every tracking look-up, after the response; does nothing when no appeal matched."""
    appellant.appeal_tracking_link_send(appeal_id=appeal_id)


@shared_task(name="tickets.tasks.appeals_abandon_stale", ignore_result=True)
def appeals_abandon_stale() -> int:
    return len(scheduled.appeal_abandon_stale(days=settings.ABANDON_AFTER_DAYS))


@shared_task(name="tickets.tasks.fulfilment_overdue_sweep", ignore_result=True)
def fulfilment_overdue_sweep() -> int:
    """Beat: alert on releases the platform left unreported past FULFILMENT_OVERDUE_HOURS."""
    return len(fulfilment.fulfilment_overdue_sweep())


@shared_task(name="tickets.tasks.release_sweep", ignore_result=True)
def release_sweep() -> int:
    """Beat: release the held approvals whose security hold has ended."""
    return len(hold.release_sweep())

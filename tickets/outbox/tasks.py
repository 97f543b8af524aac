"""The outbox's Celery tasks: thin wrappers that take ids and call one service. Task names are the
ones queued messages and the beat schedule use (settings.CELERY_BEAT_SCHEDULE); they never change."""

from celery import shared_task

from . import services


@shared_task(name=services.DELIVER_TASK, ignore_result=True)
def email_deliver(email_id: int) -> bool:
    return services.outbox_deliver(email_id=email_id)


@shared_task(name="tickets.tasks.outbox_deliver_pending", ignore_result=True)
def outbox_deliver_pending() -> int:
    return services.outbox_deliver_pending()

"""The webhooks' Celery tasks: thin wrappers that take ids and call one service. Task names are the
ones queued messages and the beat schedule use (settings.CELERY_BEAT_SCHEDULE); they never change."""

from celery import shared_task

from . import services


@shared_task(name=services.DELIVER_TASK, ignore_result=True)
def webhook_deliver(delivery_id: int) -> bool:
    return services.webhook_deliver(delivery_id=delivery_id)


@shared_task(name=services.PENDING_TASK, ignore_result=True)
def webhook_deliver_pending() -> int:
    return services.webhook_deliver_pending()

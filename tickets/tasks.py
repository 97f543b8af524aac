"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

from . import notifications


@shared_task(ignore_result=True)
def email_deliver(email_id: int) -> bool:
    return notifications.outbox_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def outbox_deliver_pending() -> int:
    return notifications.outbox_deliver_pending()

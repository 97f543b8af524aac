"""The risk score's Celery task: thin, it calls one service (its name is the one queued messages carry)."""

from celery import shared_task

from . import services


@shared_task(name=services.REWEIGH_TASK, ignore_result=True)
def risk_weights_reapply() -> int:
    """Queued when a supervisor changes a signal's points: the open appeals' scores follow."""
    return services.risk_weights_reapply()

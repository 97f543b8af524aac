"""The SLA sweep's Celery task (beat, every minute; its name is the one the beat schedule uses)."""

from celery import shared_task

from . import sweep


@shared_task(name="tickets.tasks.sla_sweep", ignore_result=True)
def sla_sweep() -> str:
    return str(sweep.sla_sweep())

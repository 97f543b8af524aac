"""The SLA sweep's Celery task (beat, every minute; its name is the one the beat schedule uses)."""

from celery import shared_task

from . import coverage, sweep


@shared_task(name="tickets.tasks.sla_sweep", ignore_result=True)
def sla_sweep() -> str:
    report = str(sweep.sla_sweep())
    sweep.sla_held_alerts_send()  # the quiet hours' digests, once the working hours have begun
    coverage.sla_calendar_coverage_alert()  # once per uncovered year: a read of one small table otherwise
    return report

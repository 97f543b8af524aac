"""Automatic assignment's Celery tasks: thin, ids in, one service each (names fixed: the beat schedule
and queued messages use them)."""

from celery import shared_task

from . import services


@shared_task(name=services.RUN_TASK, ignore_result=True)
def assignment_run(appeal_ids: list[int], agent_ids: list[int]) -> int:
    """After commit: assign the appeals that now wait, and fill the places these agents freed."""
    assigned = len(services.assignment_run(appeal_ids=appeal_ids)) if appeal_ids else 0
    return assigned + (len(services.assignment_run(agent_ids=agent_ids)) if agent_ids else 0)


@shared_task(name="tickets.tasks.assignment_sweep", ignore_result=True)
def assignment_sweep() -> int:
    """Beat: assign whatever still waits."""
    return len(services.assignment_sweep())

"""Queue a Celery task after the current transaction commits, surviving a broker outage.

Services name the task they queue (as they name a URL for `reverse`) instead of importing its module:
the task modules import the services, never the other way round, so no service depends on the
Celery layer above it (tests/test_architecture.py checks that every name is registered)."""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def delay_on_commit(task_name: str, *args) -> None:
    """Send the task called `task_name` with `args` once the transaction commits. If Redis is down the
    change still stands and nothing is lost: a beat sweep picks up whatever is still pending when the
    broker is back."""

    task = current_app.tasks[task_name]  # a name no task has is a bug: it fails here, in the caller

    def send():
        try:
            task.delay(*args)
        except Exception:
            logger.warning("could not queue %s%r; the beat sweep will pick it up", task_name, args, exc_info=True)

    transaction.on_commit(send, robust=True)


def delay_now(task_name: str, *args) -> None:
    """Send the task called `task_name` at once (from a worker, outside any transaction)."""
    current_app.tasks[task_name].delay(*args)

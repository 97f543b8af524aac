"""Queue a Celery task after the current transaction commits, surviving a broker outage."""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def delay_on_commit(task, *args) -> None:
    """Send `task(*args)` once the transaction commits. If Redis is down the change still stands and
    nothing is lost: a beat sweep picks up whatever is still pending when the broker is back."""

    def send():
        try:
            task.delay(*args)
        except Exception:
            logger.warning("could not queue %s%r; the beat sweep will pick it up", task.name, args, exc_info=True)

    transaction.on_commit(send, robust=True)

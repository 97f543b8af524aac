"""The Celery application: `celery -A supportdesk worker` and `celery -A supportdesk beat`."""

import os

from celery import Celery

from integrations.apps import TASK_PACKAGES as INTEGRATION_TASK_PACKAGES
from tickets.apps import TASK_PACKAGES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(lambda: [*TASK_PACKAGES, *INTEGRATION_TASK_PACKAGES, "evidence"])  # each room's tasks beside its services

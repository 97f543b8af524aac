from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The rooms with Celery tasks (`<room>.tasks`), beside their services. Services queue a task by its
# name (supportdesk/queueing.py), so every process registers them at start: the worker through
# `app.autodiscover_tasks`, the web through `ready`.
TASK_PACKAGES = ("tickets.outbox", "tickets.sla", "tickets.services", "tickets.risk", "tickets.assignment")


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = _("Appeals")

    def ready(self):
        from importlib import import_module

        from .canned_replies import connect_signals as connect_canned_reply_signals
        from .reference import connect_signals
        from .services.staff_sessions import connect_signals as connect_staff_session_signals

        connect_signals()
        connect_staff_session_signals()
        connect_canned_reply_signals()
        for package in TASK_PACKAGES:
            import_module(f"{package}.tasks")

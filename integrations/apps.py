from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

TASK_PACKAGES = ("integrations.webhooks",)


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Platform integrations")

    def ready(self):
        from importlib import import_module

        for package in TASK_PACKAGES:
            import_module(f"{package}.tasks")

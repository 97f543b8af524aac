from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Evidence")

    def ready(self):
        from . import tasks  # noqa: F401 - registers the tasks services queue by name (supportdesk/queueing.py)

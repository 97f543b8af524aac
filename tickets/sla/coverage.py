"""Whether China's statutory calendar covers the years the SLA calendars need (this year and the next:
a due time in late December falls in January).

`chinesecalendar` knows a year only once the State Council has published its holidays and a release
carries them. Until then due times on that year count weekends and the admin's overrides only
(`tickets.working_calendar`), and administrators are told: a warning in the admin and in /healthz
while the gap lasts, and one e-mail per year (`SlaCalendarGap` is unique per year), sent by the SLA beat.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from tickets.models import SlaCalendar, SlaCalendarGap
from tickets.outbox.services import outbox_enqueue
from tickets.working_calendar import statutory_year_covered

logger = logging.getLogger(__name__)


def sla_calendar_uncovered_years(*, today=None) -> list[int]:
    """This year and the next, where a calendar used by a policy counts statutory holidays and the
    package has no data for the year."""
    today = today or timezone.localdate()
    if not SlaCalendar.objects.filter(statutory_holidays=True, policies__isnull=False).exists():
        return []
    return [year for year in (today.year, today.year + 1) if not statutory_year_covered(year)]


def sla_calendar_coverage_alert(*, today=None) -> list[int]:
    """E-mail the administrators once about each uncovered year; returns the years alerted now."""
    alerted = []
    for year in sla_calendar_uncovered_years(today=today):
        with transaction.atomic():
            _gap, created = SlaCalendarGap.objects.get_or_create(year=year)
            if not created:
                continue
            admins = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
            for email in sorted({u.email.strip().lower() for u in admins}):
                outbox_enqueue(
                    template="sla_calendar_uncovered",
                    to=email,
                    language=settings.LANGUAGE_CODE,
                    context={"year": year, "admin_url": f"{settings.SITE_URL}{reverse('admin:tickets_slacalendar_changelist')}"},
                )
        logger.warning("SLA calendar: chinesecalendar has no data for %s; administrators alerted", year)
        alerted.append(year)
    return alerted

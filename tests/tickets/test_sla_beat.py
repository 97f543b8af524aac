"""A real Celery worker and Celery beat on Redis escalate a due appeal; the alert reaches a real SMTP server."""

from datetime import timedelta

import pytest
from celery.beat import EmbeddedService
from django.utils import timezone

from supportdesk.celery import app
from tests.tickets.factories import AppealFactory, SupervisorFactory
from tickets.models import AppealEvent


@pytest.fixture
def celery_beat(celery_worker, tmp_path):
    """Beat in a thread of this process, with the production schedule sped up to every half second."""
    schedule = {name: {**entry, "schedule": 0.5} for name, entry in app.conf.beat_schedule.items()}
    saved = app.conf.beat_schedule
    app.conf.beat_schedule = schedule
    beat = EmbeddedService(app, thread=True, max_interval=0.5, schedule_filename=str(tmp_path / "beat-schedule"))
    beat.start()
    yield beat
    beat.stop()
    beat.join(timeout=10)
    app.conf.beat_schedule = saved


@pytest.mark.django_db(transaction=True)
def test_worker_and_beat_escalate_a_due_appeal_and_alert_by_smtp(appeal_types, smtp_server, celery_worker, celery_beat, settings):
    settings.LANGUAGE_CODE = "en"
    SupervisorFactory(username="sup", email="sup@example.com")
    due = timezone.now() - timedelta(minutes=1)
    appeal = AppealFactory(sla_due_at=due, sla_warn_at=due - timedelta(hours=18))

    (alert,) = smtp_server.wait_for(1, timeout=60)
    assert alert["To"] == "sup@example.com"
    assert alert["Subject"] == "SLA breached: 1 appeal escalated"
    text = alert.get_body(("plain",)).get_content()
    assert appeal.reference in text and f"/desk/appeals/{appeal.reference}/" in text
    appeal.refresh_from_db()
    assert appeal.state == "escalated"
    assert AppealEvent.objects.filter(appeal=appeal, kind="escalate", actor_label="system").count() == 1

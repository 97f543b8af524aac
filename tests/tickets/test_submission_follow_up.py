"""What follows a new appeal: the request publishes one task to the broker; the worker queues the
files' processing on the evidence queue and renders and sends the acknowledgement."""

import pytest
from celery.signals import before_task_publish
from django.urls import reverse
from django.utils import translation

from evidence.models import Evidence
from tests.tickets.factories import submission
from tickets.models import Appeal, OutboundEmail


@pytest.fixture
def publishes():
    """The tasks actually published to the broker (the test run's Redis), by name."""
    sent: list[str] = []

    def record(sender=None, **kwargs):
        sent.append(sender)

    before_task_publish.connect(record, weak=False)
    yield sent
    before_task_publish.disconnect(record)


@pytest.mark.django_db
def test_an_appeal_with_three_photos_publishes_one_task(appeal_types, client, evidence_root, publishes,
                                                        django_capture_on_commit_callbacks):
    from supportdesk.celery import app

    appeal_type = appeal_types["realname_unbind"]
    assert len(appeal_type.required_evidence) == 3
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
        assert response.status_code == 302
        assert publishes == ["tickets.tasks.appeal_submitted"]
    finally:
        app.control.purge()  # no worker consumes this test's message


@pytest.mark.django_db(transaction=True)
def test_the_worker_renders_the_acknowledgement_in_the_appellants_language(appeal_types, client, celery_worker,
                                                                           smtp_server):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type, language="zh-hans")
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    # The request rendered no e-mail: the outbox row carries the recipient, the appeal and the language.
    assert not [t.name for t in response.templates if t.name and t.name.startswith("emails/")]
    appeal = Appeal.objects.get()

    (message,) = smtp_server.wait_for(1)
    celery_worker.finished.wait_for("tickets.tasks.appeal_submitted")
    with translation.override("zh-hans"):
        expected = translation.gettext("Follow your appeal here (the link works for 30 days):")
    assert expected != "Follow your appeal here (the link works for 30 days):"
    text = message.get_body(("plain",)).get_content()
    assert expected in text and appeal.reference in message["Subject"]
    email = OutboundEmail.objects.get()
    assert (email.status, email.language) == ("sent", "zh-hans")
    assert email.subject == message["Subject"] and expected in email.body_text  # kept: a resend is the same

    # ... and the files it queued on the evidence queue were processed.
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=3)
    assert set(Evidence.objects.values_list("status", flat=True)) == {"ready"}

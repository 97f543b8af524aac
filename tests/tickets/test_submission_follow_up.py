"""What follows a new appeal: the request publishes one task to the broker; the worker queues the
files' processing on the evidence queue and renders and sends the acknowledgement."""

import threading

import pytest
from celery.signals import before_task_publish
from django.test.signals import template_rendered
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


@pytest.fixture
def rendered_by_this_thread():
    """Templates rendered by the test's own thread (the request), not by the in-process worker's
    thread, which may already be rendering the acknowledgement while the response is finished."""
    names: list[str] = []
    me = threading.get_ident()

    def record(sender=None, template=None, **kwargs):
        if threading.get_ident() == me and template is not None and template.name:
            names.append(template.name)

    template_rendered.connect(record, weak=False)
    yield names
    template_rendered.disconnect(record)


@pytest.mark.django_db
def test_an_appeal_with_three_photos_publishes_one_task(
    appeal_types, client, evidence_root, publishes, django_capture_on_commit_callbacks
):
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
def test_the_worker_renders_the_acknowledgement_in_the_appellants_language(
    appeal_types, en_client, celery_worker, smtp_server, rendered_by_this_thread
):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type, language="zh-hans")
    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), data)
    assert response.status_code == 302
    # The request rendered no e-mail: the outbox row carries the recipient, the appeal and the language.
    assert not [name for name in rendered_by_this_thread if name.startswith("emails/")]
    en_client.get(response.url)  # the confirmation page: this thread's renders are recorded
    assert "tickets/appeal_submitted.html" in rendered_by_this_thread
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


@pytest.mark.django_db
def test_an_acknowledgement_whose_appeal_was_deleted_is_marked_failed_not_sent(appeal_types, smtp_server):
    """Written unrendered in the request, rendered by the worker from its appeal: with the appeal gone
    (deleted by an administrator before the worker ran) there is nothing to render, and nothing is sent."""
    from tests.tickets.factories import AppealFactory
    from tickets.outbox.services import outbox_deliver, outbox_enqueue_unrendered

    appeal = AppealFactory()
    email = outbox_enqueue_unrendered(template="acknowledgement", to="owner@example.com", language="en", appeal=appeal)
    appeal.delete()

    assert outbox_deliver(email_id=email.pk) is False
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.FAILED
    assert email.last_error == "its appeal no longer exists"
    assert email.subject == "" and smtp_server.messages == []


@pytest.mark.django_db
def test_the_follow_up_leaves_an_acknowledgement_waiting_for_its_backoff_to_the_sweep(appeal_types, smtp_server):
    """A second run of the follow-up task (a redelivered message) must not resend an acknowledgement
    whose last attempt failed before its backoff has passed: that is the outbox sweep's, later."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.tickets.factories import AppealFactory
    from tickets.outbox.services import outbox_enqueue_unrendered
    from tickets.services.intake import appeal_submitted_follow_up

    appeal = AppealFactory()
    email = outbox_enqueue_unrendered(template="acknowledgement", to="owner@example.com", language="en", appeal=appeal)
    OutboundEmail.objects.filter(pk=email.pk).update(attempts=1, next_attempt_at=timezone.now() + timedelta(minutes=2))

    appeal_submitted_follow_up(appeal_id=appeal.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts, smtp_server.messages) == (OutboundEmail.Status.PENDING, 1, [])

    OutboundEmail.objects.filter(pk=email.pk).update(next_attempt_at=timezone.now())
    appeal_submitted_follow_up(appeal_id=appeal.pk)
    (message,) = smtp_server.wait_for(1)
    assert appeal.reference in message["Subject"]
    email.refresh_from_db()
    assert email.status == OutboundEmail.Status.SENT

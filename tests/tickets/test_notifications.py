"""The outbox: written with the change that causes it, delivered by Celery after commit, never lost."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal, OutboundEmail
from tickets.outbox import tasks as outbox_tasks
from tickets.outbox.services import outbox_deliver, outbox_deliver_pending, outbox_enqueue
from tickets.services import tasks as appeal_tasks


def enqueue_for(appeal) -> OutboundEmail:
    return outbox_enqueue(
        template="tracking_link",
        to=appeal.contact_email,
        language="en",
        appeal=appeal,
        context={"tracking_url": "http://testserver/appeals/status/x/"},
    )


@pytest.mark.django_db
def test_email_is_queued_for_delivery_only_after_commit(appeal_types, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(outbox_tasks.email_deliver, "delay", queued.append)
    appeal = AppealFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        email = enqueue_for(appeal)
        assert queued == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert queued == [email.pk]


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_email(appeal_types):
    appeal = AppealFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_for(appeal)
        raise RuntimeError("the change failed")
    assert OutboundEmail.objects.count() == 0


@pytest.mark.django_db
def test_broker_down_at_commit_keeps_the_email_for_the_sweep(
    appeal_types, client, django_capture_on_commit_callbacks, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox_tasks.email_deliver, "delay", broker_down)
    monkeypatch.setattr(appeal_tasks.appeal_submitted, "delay", broker_down)
    appeal_type = appeal_types["access_card_unbind"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302  # the appellant sees no error
    email = OutboundEmail.objects.get()
    assert email.status == "pending" and mail.outbox == []
    assert outbox_deliver_pending() == 1
    assert len(mail.outbox) == 1
    assert outbox_deliver_pending() == 0 and len(mail.outbox) == 1


@pytest.mark.django_db
def test_delivering_the_same_email_twice_sends_it_once(appeal_types):
    email = enqueue_for(AppealFactory())
    assert outbox_deliver(email_id=email.pk) is True
    assert outbox_deliver(email_id=email.pk) is False
    assert len(mail.outbox) == 1
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1 and email.sent_at is not None
    assert mail.outbox[0].extra_headers["Message-ID"] == email.message_id


@pytest.mark.django_db
def test_smtp_failure_is_retried_with_backoff_then_delivered(appeal_types, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens on 9
    email = enqueue_for(AppealFactory())
    assert outbox_deliver_pending() == 0
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in email.last_error
    assert email.next_attempt_at > timezone.now()
    assert outbox_deliver_pending() == 0  # not due again yet
    email.refresh_from_db()
    assert email.attempts == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert outbox_deliver_pending() == 1
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, "")


@pytest.mark.django_db
def test_email_gives_up_after_ten_attempts(appeal_types, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    email = enqueue_for(AppealFactory())
    for _ in range(10):
        outbox_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 10)
    assert outbox_deliver(email_id=email.pk) is False


@pytest.mark.django_db
def test_acknowledgement_is_written_in_the_appellants_language(appeal_types, client):
    appeal_type = appeal_types["realname_unbind"]
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, language="zh-hans"))
    assert outbox_deliver_pending() == 1  # the worker renders it as it sends it (or the sweep, here)
    email = OutboundEmail.objects.get()
    appeal = Appeal.objects.get()
    with translation.override("zh-hans"):
        expected = translation.gettext("Follow your appeal here (the link works for 30 days):")
    assert expected != "Follow your appeal here (the link works for 30 days):"
    assert expected in email.body_text and appeal.reference in email.subject
    assert "<html" in email.body_html and appeal.reference in email.body_html


@pytest.mark.django_db(transaction=True)
def test_acknowledgement_is_delivered_by_a_celery_worker_through_smtp(appeal_types, client, celery_worker, smtp_server):
    appeal_type = appeal_types["account_recovery"]
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302
    appeal = Appeal.objects.get()

    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "li.lei@example.com"
    assert appeal.reference in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert appeal.reference in text and appeal.reference in html
    assert "72 hours" in text
    assert "ID card, front: id_front.jpg" in text

    path = re.search(r"http://testserver(/appeals/status/\S+/)", text).group(1)
    status = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert status.status_code == 200
    assert appeal.reference in status.content.decode()
    celery_worker.finished.wait_for("tickets.tasks.appeal_submitted")
    assert OutboundEmail.objects.get().status == "sent"


@pytest.mark.django_db
def test_refused_recipient_is_logged_by_row_and_smtp_code_never_by_address(appeal_types, settings, caplog):
    from tests.conftest import free_port
    from tests.faults import RefusingSmtpSink, smtp_server_at

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    appeal = AppealFactory(contact_email="wang.fang.private@example.com")
    email = enqueue_for(appeal)
    with smtp_server_at(port, RefusingSmtpSink()) as sink, caplog.at_level("DEBUG"):
        assert outbox_deliver(email_id=email.pk) is False
    assert sink.messages == []
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("pending", 1, "SMTPRecipientsRefused: 550")
    # Everything this process logged, except the test SMTP server's own (aiosmtpd's "mail.log").
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert f"e-mail {email.pk} not delivered (attempt 1): SMTPRecipientsRefused: 550" in ours
    assert "wang.fang.private" not in ours

"""Outbox delivery claims: the "sending" claim is committed before SMTP is spoken to, the result is
recorded at once, and a row left "sending" is taken again only after its lease."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.conftest import free_port
from tests.faults import HoldingSmtpSink, smtp_server_at
from tests.tickets.factories import AppealFactory
from tickets.models import OutboundEmail
from tickets.outbox.services import outbox_deliver, outbox_deliver_pending, outbox_enqueue


def enqueue() -> OutboundEmail:
    return outbox_enqueue(
        template="tracking_link",
        to="a@example.com",
        language="en",
        appeal=AppealFactory(),
        context={"tracking_url": "http://testserver/x/"},
    )


@pytest.fixture
def holding_smtp(settings):
    port = free_port()
    sink = HoldingSmtpSink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    with smtp_server_at(port, sink):
        yield sink


def deliver_in_thread(email_id: int) -> threading.Thread:
    def run():
        try:
            outbox_deliver(email_id=email_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_the_sending_claim_is_committed_before_smtp_and_blocks_a_second_sender(appeal_types, holding_smtp):
    email = enqueue()
    holding_smtp.holding.set()
    thread = deliver_in_thread(email.pk)
    try:
        assert holding_smtp.held.wait(timeout=30)
        # Mid-conversation, another connection already sees the committed claim...
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("sending", 1)
        assert email.claimed_at is not None and email.claim_token is not None
        # ...so neither the sweep nor a redelivered task sends it a second time.
        assert outbox_deliver_pending() == 0
        assert outbox_deliver(email_id=email.pk) is False
    finally:
        holding_smtp.holding.clear()
        thread.join(timeout=30)
    holding_smtp.wait_for(1)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")
    assert len(holding_smtp.messages) == 1


@pytest.mark.django_db
def test_a_row_left_sending_is_sent_again_with_the_same_message_id_only_after_the_lease(appeal_types, settings):
    from django.core import mail

    settings.OUTBOX_SENDING_LEASE_SECONDS = 600
    email = enqueue()
    claimed = timezone.now()
    # What a worker that died after its claim leaves behind.
    OutboundEmail.objects.filter(pk=email.pk).update(status="sending", claimed_at=claimed, attempts=1)
    with time_machine.travel(claimed + timedelta(seconds=599), tick=False):
        assert outbox_deliver_pending() == 0
        assert outbox_deliver(email_id=email.pk) is False
    assert mail.outbox == []
    with time_machine.travel(claimed + timedelta(seconds=601), tick=False):
        assert outbox_deliver_pending() == 1
    (message,) = mail.outbox
    assert message.extra_headers["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)

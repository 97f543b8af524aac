"""Deliveries to a real receiver on 127.0.0.1 that verifies each one with `standardwebhooks`."""

import json
from collections import Counter
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from integrations.models import IntegrationEvent, WebhookDelivery
from integrations.webhooks.services import (
    integration_event_record,
    webhook_deliver,
    webhook_deliver_pending,
    webhook_delivery_resend,
    webhook_secret_rotate,
)
from tests.tickets.factories import AppealFactory

pytestmark = pytest.mark.django_db

DECIDED = IntegrationEvent.Type.DECIDED


def _event(integration, type=DECIDED):  # noqa: A002
    appeal = AppealFactory(integration=integration)
    return integration_event_record(type=type, appeal=appeal)


def _deliver_all() -> int:
    return sum(webhook_deliver(delivery_id=pk) for pk in WebhookDelivery.objects.values_list("pk", flat=True))


def test_a_delivery_is_signed_per_standard_webhooks_and_verified_by_the_receiver(appeal_types, subscription, receiver):
    event = _event(subscription.integration)
    assert _deliver_all() == 1

    [received] = receiver.accepted()
    assert received.verified_by == {"current": True}
    assert received.webhook_id == event.message_id
    payload = Webhook(subscription.secret).verify(received.body, received.headers)
    assert payload["type"] == "appeal.decided"
    assert payload["data"]["reference"] == event.appeal.reference
    assert payload["timestamp"] == event.created_at.isoformat()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_tampered_body_and_a_stale_timestamp_are_refused_by_the_verifier(appeal_types, subscription, receiver):
    _event(subscription.integration)
    _deliver_all()
    [received] = receiver.received
    verifier = Webhook(subscription.secret)
    verifier.verify(received.body, received.headers)  # as sent: good

    tampered = received.body.replace(b'"state":"', b'"state":"approved-', 1)
    assert tampered != received.body
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        verifier.verify(tampered, received.headers)

    stale = {**received.headers, "webhook-timestamp": str(int(received.headers["webhook-timestamp"]) - 10 * 60)}
    with pytest.raises(WebhookVerificationError):
        verifier.verify(received.body, stale)
    later = time_machine.travel(timezone.now() + timedelta(minutes=10))  # replayed ten minutes later
    with later, pytest.raises(WebhookVerificationError, match="too old"):
        verifier.verify(received.body, received.headers)


def test_receiver_down_then_up_gets_every_event_exactly_once(appeal_types, subscription, receiver, settings):
    receiver.stop()  # connections refused
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        events = [_event(subscription.integration, type=t) for t in (DECIDED, "appeal.submitted", "sla.breached")]
        assert webhook_deliver_pending() == 0
        schedule = settings.WEBHOOK_RETRY_SCHEDULE
        for attempt, delay in enumerate(schedule[:4], start=1):
            assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("pending", attempt)}
            traveller.shift(timedelta(seconds=delay - 1))
            assert webhook_deliver_pending() == 0  # not due yet: nothing tried
            traveller.shift(timedelta(seconds=1))
            if attempt == 3:  # up, but answering 503
                receiver.status = 503
                receiver.start()
            if attempt == 4:
                receiver.status = 200
            assert webhook_deliver_pending() == (3 if attempt == 4 else 0)
        assert webhook_deliver_pending() == 0
        traveller.shift(timedelta(hours=30))
        assert webhook_deliver_pending() == 0

    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {("delivered", 5)}
    accepted = Counter(r.webhook_id for r in receiver.accepted())
    assert accepted == Counter({e.message_id: 1 for e in events})
    assert Counter(r.status for r in receiver.received) == {503: 3, 200: 3}


def test_the_last_retry_is_over_24_hours_after_the_first_attempt(settings):
    assert sum(settings.WEBHOOK_RETRY_SCHEDULE) >= 24 * 3600


def test_a_delivery_fails_after_its_last_retry(appeal_types, subscription, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 1000
    receiver.status = 500
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _event(subscription.integration)
        _deliver_all()
        for delay in settings.WEBHOOK_RETRY_SCHEDULE:
            traveller.shift(timedelta(seconds=delay))
            webhook_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 9, "HTTP 500")
    assert len(receiver.received) == 9


def test_rotation_keeps_every_delivery_verifiable_by_the_old_and_the_new_secret(appeal_types, subscription, receiver, settings):
    old = subscription.secret
    receiver.secrets = {"old": old}
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        _event(subscription.integration)
        _deliver_all()
        new = webhook_secret_rotate(subscription=subscription)
        assert new != old and new.startswith("whsec_")
        receiver.secrets = {"old": old, "new": new}
        for _ in range(3):  # a stream of events during the overlap
            _event(subscription.integration)
            traveller.shift(timedelta(hours=1))
            _deliver_all()
        traveller.shift(timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS))
        _event(subscription.integration)
        _deliver_all()

    first, *overlap, after = receiver.received
    assert first.verified_by == {"old": True}
    assert [r.verified_by for r in overlap] == [{"old": True, "new": True}] * 3
    assert [len(r.headers["webhook-signature"].split(" ")) for r in overlap] == [2, 2, 2]
    assert after.verified_by == {"old": False, "new": True}
    assert len(after.headers["webhook-signature"].split(" ")) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(appeal_types, subscription, receiver):
    receiver.status = 302
    receiver.location = f"http://127.0.0.1:{receiver.port}/elsewhere"
    _event(subscription.integration)
    assert _deliver_all() == 0
    assert [r.path for r in receiver.received] == ["/hooks"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def test_only_a_bounded_excerpt_of_the_answer_is_kept(appeal_types, subscription, receiver):
    receiver.reply = b"x" * 100_000
    _event(subscription.integration)
    _deliver_all()
    assert WebhookDelivery.objects.get().response_excerpt == "x" * 1024


def test_a_receiver_slower_than_the_timeout_is_a_failure(appeal_types, subscription, receiver, settings, monkeypatch):
    import socket

    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    silent = socket.socket()  # accepts the connection (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    subscription.url = f"http://127.0.0.1:{silent.getsockname()[1]}/hooks"
    subscription.save()
    try:
        _event(subscription.integration)
        assert _deliver_all() == 0
    finally:
        silent.close()
    assert WebhookDelivery.objects.get().last_error in ("ReadTimeout", "ConnectionError", "ConnectTimeout")


def test_send_again_delivers_once_more_with_the_same_webhook_id(appeal_types, subscription, receiver):
    event = _event(subscription.integration)
    _deliver_all()
    delivery = WebhookDelivery.objects.get()
    assert webhook_delivery_resend(delivery=delivery)
    assert WebhookDelivery.objects.get().status == "pending"
    assert not webhook_delivery_resend(delivery=delivery)  # already pending
    _deliver_all()
    assert [r.webhook_id for r in receiver.accepted()] == [event.message_id] * 2


def test_a_delivery_another_worker_holds_is_not_sent_twice(appeal_types, subscription, receiver):
    _event(subscription.integration)
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="sending", claimed_at=timezone.now())
    assert webhook_deliver_pending() == 0
    assert receiver.received == []
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):  # its lease ran out: the worker died
        assert webhook_deliver_pending() == 1
    assert len(receiver.received) == 1


def test_the_payload_carries_public_facts_only(appeal_types, subscription, receiver):
    appeal = AppealFactory(integration=subscription.integration, decision_reason="")
    integration_event_record(type="appeal.submitted", appeal=appeal)
    _deliver_all()
    payload = json.loads(receiver.received[0].body)
    assert set(payload) == {"type", "timestamp", "data"}
    assert set(payload["data"]) == {
        "reference",
        "appeal_type",
        "state",
        "account_identifier",
        "created_at",
        "sla_due_at",
        "decision",
        "decision_reason",
        "decision_reason_code",
        "decided_at",
        "fulfilment",
        "released_at",
        "hold_until",
    }
    body = receiver.received[0].body.decode()
    for private in (appeal.contact_email, appeal.id_number_last4, appeal.letter_background):
        assert private not in body


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_after_commit(appeal_types, celery_worker, subscription, receiver):
    appeal = AppealFactory(integration=subscription.integration)
    with transaction.atomic():
        event = integration_event_record(type=DECIDED, appeal=appeal)
        assert receiver.received == []  # nothing before commit
    [received] = receiver.wait_for(1)
    celery_worker.finished.wait_for("integrations.tasks.webhook_deliver")
    assert received.webhook_id == event.message_id and received.verified_by == {"current": True}
    assert WebhookDelivery.objects.get().status == "delivered"


def test_nothing_is_sent_for_an_integration_switched_off(appeal_types, subscription, receiver):
    _event(subscription.integration)
    subscription.integration.is_active = False
    subscription.integration.save()
    assert _deliver_all() == 0
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", "the subscription or its integration is disabled")

"""Webhook deliveries per second by one worker process (this one) against a local receiver that
verifies every signature: claim, SSRF check after DNS, signing, POST, result — the whole of each."""

import time

from integrations.models import Integration, IntegrationEvent, WebhookDelivery, WebhookSubscription
from integrations.webhooks.services import integration_event_record, webhook_deliver_pending
from tests.integrations.conftest import Receiver
from tests.tickets.factories import AppealFactory
from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed

DELIVERIES = 300


def test_webhook_deliveries_per_second_per_worker_process(record, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    appeal_types_seed(AppealType)
    receiver = Receiver().start()
    try:
        integration = Integration.objects.create(name="Bench")
        subscription = WebhookSubscription.objects.create(
            integration=integration, url=receiver.url, event_types=["appeal.decided"]
        )
        receiver.secrets["current"] = subscription.secret
        for appeal in AppealFactory.create_batch(DELIVERIES, integration=integration):
            integration_event_record(type=IntegrationEvent.Type.DECIDED, appeal=appeal)
        start = time.perf_counter()
        delivered = webhook_deliver_pending(limit=DELIVERIES)
        elapsed = time.perf_counter() - start
    finally:
        receiver.stop()
    assert delivered == DELIVERIES == len(receiver.accepted())
    assert not WebhookDelivery.objects.exclude(status="delivered").exists()
    record(
        "webhook deliveries per second, one worker process, local receiver",
        DELIVERIES / elapsed,
        "/s",
        target=50,
        higher_is_better=True,
        note=f"{DELIVERIES} signed deliveries, each verified by the receiver",
    )

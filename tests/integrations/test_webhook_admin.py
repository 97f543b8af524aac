"""The webhooks' admin: subscriptions (the secret shown once, rotation), the delivery log, "send
again"; and a subscription that keeps failing disabled with an e-mail to the administrators."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationEvent, WebhookDelivery, WebhookSubscription
from integrations.webhooks.services import integration_event_record, webhook_deliver, webhook_deliver_pending
from tests.tickets.factories import AppealFactory, UserFactory
from tickets.models import OutboundEmail

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_creating_a_subscription_shows_its_secret_once(admin_client, integration, local_receivers_allowed):
    url = reverse("admin:integrations_webhooksubscription_add")
    data = {"integration": integration.pk, "url": "http://127.0.0.1:9/hooks", "event_types": ["appeal.decided", "sla.breached"]}
    response = admin_client.post(url, data, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    subscription = WebhookSubscription.objects.get()
    assert subscription.event_types == ["appeal.decided", "sla.breached"]
    assert subscription.secret.startswith("whsec_")
    assert any(subscription.secret in m for m in _messages(response))
    page = admin_client.get(reverse("admin:integrations_webhooksubscription_change", args=[subscription.pk]))
    assert subscription.secret not in page.content.decode()


def test_a_url_that_may_not_receive_webhooks_is_refused_in_the_form(admin_client, integration, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    url = reverse("admin:integrations_webhooksubscription_add")
    data = {"integration": integration.pk, "url": "http://127.0.0.1:9/hooks", "event_types": ["appeal.decided"]}
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "cannot receive webhooks" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_rotating_shows_the_new_secret_and_keeps_the_old_one_for_the_overlap(admin_client, subscription, settings):
    old = subscription.secret
    url = reverse("admin:integrations_webhooksubscription_changelist")
    response = admin_client.post(url, {"action": "rotate_secret", "_selected_action": [subscription.pk]}, follow=True)
    subscription.refresh_from_db()
    assert subscription.secret != old and subscription.previous_secret == old
    expected = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    assert abs(subscription.previous_secret_expires_at - expected) < timedelta(minutes=1)
    assert any(subscription.secret in m for m in _messages(response))


def test_the_delivery_log_is_read_only_and_filters_by_status_and_type(admin_client, appeal_types, subscription):
    integration_event_record(type="appeal.decided", appeal=AppealFactory(integration=subscription.integration))
    delivery = WebhookDelivery.objects.get()
    changelist = reverse("admin:integrations_webhookdelivery_changelist")
    assert admin_client.get(changelist, {"status": "pending", "event__type": "appeal.decided"}).status_code == 200
    page = admin_client.get(reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.get(reverse("admin:integrations_webhookdelivery_add")).status_code == 403
    assert admin_client.post(reverse("admin:integrations_webhookdelivery_delete", args=[delivery.pk])).status_code == 403


def test_send_again_resends_a_delivered_delivery(admin_client, appeal_types, subscription, receiver):
    integration_event_record(type="appeal.decided", appeal=AppealFactory(integration=subscription.integration))
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery_id=delivery.pk)
    changelist = reverse("admin:integrations_webhookdelivery_changelist")
    response = admin_client.post(
        changelist, {"action": "send_again", "_selected_action": [delivery.pk]}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "1 delivery will be sent again." in _messages(response)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert webhook_deliver_pending() == 1
    assert len(receiver.accepted()) == 2


def test_a_subscription_failing_delivery_after_delivery_is_disabled_and_the_administrators_told(
    appeal_types, subscription, receiver, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = []  # each failure is final
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 2
    UserFactory(username="root", email="root@example.com", is_superuser=True)
    UserFactory(username="root2", email="", is_superuser=True)  # no address: not e-mailed
    receiver.status = 500
    for _ in range(3):
        integration_event_record(type="appeal.decided", appeal=AppealFactory(integration=subscription.integration))
    first, second, third = WebhookDelivery.objects.order_by("id")
    webhook_deliver(delivery_id=first.pk)
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 1
    webhook_deliver(delivery_id=second.pk)

    subscription.refresh_from_db()
    assert not subscription.is_active and "2 deliveries in a row failed" in subscription.disabled_reason
    third.refresh_from_db()
    assert third.status == "failed"  # waiting deliveries fail with it; "send again" once it works
    assert not webhook_deliver(delivery_id=third.pk)
    [email] = OutboundEmail.objects.filter(template="webhook_disabled_staff")
    assert email.to == "root@example.com" and subscription.url in email.body_text
    assert len(receiver.received) == 2


def test_a_subscription_failing_for_a_day_is_disabled(appeal_types, subscription, receiver, settings):
    UserFactory(username="root", email="root@example.com", is_superuser=True)
    receiver.status = 503
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        integration_event_record(type="appeal.decided", appeal=AppealFactory(integration=subscription.integration))
        for delay in settings.WEBHOOK_RETRY_SCHEDULE[:7]:  # 5 s … 10 h: 17.6 h of failures
            webhook_deliver_pending()
            traveller.shift(timedelta(seconds=delay))
        subscription.refresh_from_db()
        assert subscription.is_active
        traveller.shift(timedelta(hours=7))
        webhook_deliver_pending()  # past 24 h of failures without a success
    subscription.refresh_from_db()
    assert not subscription.is_active and "24 h" in subscription.disabled_reason
    assert OutboundEmail.objects.filter(template="webhook_disabled_staff", to="root@example.com").count() == 1


def test_enable_again_clears_the_failures(admin_client, subscription):
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        is_active=False, disabled_reason="x", consecutive_failures=5, failing_since=timezone.now()
    )
    changelist = reverse("admin:integrations_webhooksubscription_changelist")
    admin_client.post(changelist, {"action": "enable", "_selected_action": [subscription.pk]})
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0 and subscription.failing_since is None


def test_every_event_type_can_be_chosen(admin_client):
    page = admin_client.get(reverse("admin:integrations_webhooksubscription_add")).content.decode()
    for event_type in IntegrationEvent.Type.values:
        assert f'value="{event_type}"' in page

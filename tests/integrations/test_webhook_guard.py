"""No server-side request forgery: a webhook URL must be https and resolve to public addresses (checked
at delivery time, after DNS), unless the address is allow-listed. DNS is pointed at local and private
addresses by patching the guard's one resolver; a receiver listens on 127.0.0.1 to prove nothing
reaches it."""

import logging

import pytest

from integrations.models import IntegrationEvent, WebhookDelivery
from integrations.webhooks import guard
from integrations.webhooks.guard import DeliveryRefused, url_check
from integrations.webhooks.services import integration_event_record, webhook_deliver
from tests.tickets.factories import AppealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def dns(monkeypatch):
    """Point every host name at the addresses set in `dns.answer`."""

    class Dns:
        answer: list[str] = []
        asked: list[str] = []

    def resolve(host, port):
        Dns.asked.append(host)
        return list(Dns.answer)

    monkeypatch.setattr(guard, "resolve", resolve)
    return Dns


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "::1", "::ffff:10.0.0.5", "0.0.0.0", "fd00::1"])  # noqa: S104 - DNS answers, not binds
def test_a_host_resolving_to_a_non_public_address_is_refused_logged_and_sent_nothing(
    appeal_types, subscription, receiver, dns, settings, caplog, address
):
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # the receiver's 127.0.0.1 is not allow-listed here
    subscription.url = f"https://hooks.example.com:{receiver.port}/hooks"
    subscription.save()
    dns.answer = [address]
    integration_event_record(type=IntegrationEvent.Type.DECIDED, appeal=AppealFactory(integration=subscription.integration))
    delivery = WebhookDelivery.objects.get()

    with caplog.at_level(logging.WARNING, logger="integrations.webhooks.services"):
        assert not webhook_deliver(delivery_id=delivery.pk)

    assert receiver.received == []
    assert dns.asked == ["hooks.example.com"]  # resolved at delivery time
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error.startswith("refused: ") and "not a public address" in delivery.last_error
    [record] = [r for r in caplog.records if "refused" in r.getMessage()]
    assert f"subscription {subscription.pk}" in record.getMessage()
    assert subscription.secret not in caplog.text


def test_one_private_address_among_public_ones_is_enough_to_refuse(dns):
    dns.answer = ["93.184.216.34", "10.0.0.5"]
    with pytest.raises(DeliveryRefused, match="10.0.0.5"):
        url_check("https://hooks.example.com/x")


def test_a_public_address_is_accepted_and_pinned(dns):
    dns.answer = ["93.184.216.34"]
    target = url_check("https://hooks.example.com/in?x=1")
    assert target.pinned_url == "https://93.184.216.34:443/in?x=1"
    assert target.host_header == "hooks.example.com"


def test_plain_http_is_refused_for_a_host_not_allow_listed(dns, appeal_types, subscription, receiver, settings):
    dns.answer = ["93.184.216.34"]
    with pytest.raises(DeliveryRefused, match="https"):
        url_check("http://hooks.example.com/x")
    settings.WEBHOOK_ALLOWED_NETWORKS = []
    dns.answer = ["127.0.0.1"]
    subscription.url = receiver.url.replace("127.0.0.1", "receiver.example.com")
    subscription.save()
    integration_event_record(type=IntegrationEvent.Type.DECIDED, appeal=AppealFactory(integration=subscription.integration))
    assert not webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    assert receiver.received == []


def test_an_allow_listed_address_may_be_reached_over_http(dns, appeal_types, subscription, receiver, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns.answer = ["127.0.0.1"]
    subscription.url = receiver.url.replace("127.0.0.1", "receiver.example.com")
    subscription.save()
    integration_event_record(type=IntegrationEvent.Type.DECIDED, appeal=AppealFactory(integration=subscription.integration))
    assert webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    [received] = receiver.received
    assert received.headers["host"] == f"receiver.example.com:{receiver.port}"  # sent to the checked address, by name


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/x", "https://user:pass@hooks.example.com/x", "https:///nohost", "file:///etc/passwd"]
)
def test_urls_that_are_not_https_to_a_host_are_refused(dns, url):
    dns.answer = ["93.184.216.34"]
    with pytest.raises(DeliveryRefused):
        url_check(url)


def test_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("no such host")

    monkeypatch.setattr(guard.socket, "getaddrinfo", fail)
    with pytest.raises(DeliveryRefused, match="does not resolve"):
        url_check("https://nowhere.invalid/x")


def test_the_resolver_asks_dns_once_per_check(monkeypatch):
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        return [(2, 1, 6, "", ("93.184.216.34", port))]

    monkeypatch.setattr(guard.socket, "getaddrinfo", getaddrinfo)
    assert url_check("https://hooks.example.com/x").address == "93.184.216.34"
    assert calls == ["hooks.example.com"]

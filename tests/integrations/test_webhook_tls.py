"""Over https the delivery connects to the address the guard checked while TLS names the host: SNI and
the certificate check use the URL's host name, not the address (a real TLS receiver on 127.0.0.1 with
a certificate made by `openssl`)."""

import ssl
import subprocess

import pytest

from integrations.models import IntegrationEvent, WebhookDelivery
from integrations.webhooks import guard, services
from integrations.webhooks.services import integration_event_record, webhook_deliver
from tests.integrations.conftest import Receiver
from tests.tickets.factories import AppealFactory

pytestmark = pytest.mark.django_db


def _certificate(tmp_path, name: str):
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_receiver(tmp_path, local_receivers_allowed, monkeypatch):
    """A receiver answering https on 127.0.0.1 with a certificate for hooks.example.com; DNS points that
    name at 127.0.0.1, and the delivery trusts the certificate."""
    cert, key = _certificate(tmp_path, "hooks.example.com")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen_names = []
    context.sni_callback = lambda sock, name, ctx: seen_names.append(name)
    monkeypatch.setattr(guard, "resolve", lambda host, port: ["127.0.0.1"])

    def trusting(target):
        session = guard.pinned_session(target)
        session.verify = str(cert)
        return session

    monkeypatch.setattr(services, "pinned_session", trusting)
    receiver = Receiver().start(tls=context)
    receiver.seen_names = seen_names
    yield receiver
    receiver.stop()


def _deliver(integration, url) -> bool:
    from integrations.models import WebhookSubscription

    subscription = WebhookSubscription.objects.create(integration=integration, url=url, event_types=["appeal.decided"])
    integration_event_record(type=IntegrationEvent.Type.DECIDED, appeal=AppealFactory(integration=integration))
    return webhook_deliver(delivery_id=WebhookDelivery.objects.get(subscription=subscription).pk)


def test_https_goes_to_the_checked_address_with_the_host_name_in_sni_and_the_certificate(appeal_types, integration, tls_receiver):
    assert _deliver(integration, f"https://hooks.example.com:{tls_receiver.port}/hooks")
    [received] = tls_receiver.received
    assert received.headers["host"] == f"hooks.example.com:{tls_receiver.port}"
    assert tls_receiver.seen_names == ["hooks.example.com"]


def test_a_certificate_for_another_name_fails_the_delivery(appeal_types, integration, tls_receiver):
    assert not _deliver(integration, f"https://other.example.com:{tls_receiver.port}/hooks")
    assert tls_receiver.received == []
    assert WebhookDelivery.objects.get().last_error == "SSLError"

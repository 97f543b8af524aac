"""Behind the documented proxy (RATELIMIT_IP_META_KEY=HTTP_X_REAL_IP), one function decides the client
address, and storage, rate limits, staff sign-in throttling and the fraud signals all count real clients."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.tickets.factories import AgentFactory, submission
from tickets.models import Appeal
from tickets.reports.fraud import fraud_signals

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # every request arrives from the proxy's address


@pytest.fixture
def behind_proxy(settings):
    settings.RATELIMIT_IP_META_KEY = "HTTP_X_REAL_IP"


def client_at(address: str) -> Client:
    return Client(REMOTE_ADDR=PROXY, HTTP_X_REAL_IP=address, HTTP_ACCEPT_LANGUAGE="en")


def test_appeals_from_different_clients_keep_their_own_address_and_raise_no_same_address_signal(behind_proxy, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    addresses = ["198.51.100.7", "203.0.113.9", "192.0.2.33"]
    for number, address in enumerate(addresses):
        data = submission(appeal_type, contact_email=f"person{number}@example.com")
        assert client_at(address).post(reverse("tickets:new", args=[appeal_type.code]), data).status_code == 302
    appeals = list(Appeal.objects.order_by("created_at", "pk"))
    assert [a.submitted_ip for a in appeals] == addresses
    assert "same_ip" not in {signal.kind for signal in fraud_signals(appeals[0])}


def test_submission_rate_limit_counts_each_real_client(behind_proxy, appeal_types, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "1/h"
    appeal_type = appeal_types["realname_unbind"]
    url = reverse("tickets:new", args=[appeal_type.code])
    assert client_at("198.51.100.7").post(url, submission(appeal_type)).status_code == 302
    assert client_at("203.0.113.9").post(url, submission(appeal_type)).status_code == 302  # another client
    assert client_at("198.51.100.7").post(url, submission(appeal_type)).status_code == 429  # the first, again
    assert Appeal.objects.count() == 2


def test_staff_sign_in_lock_out_counts_each_real_client(behind_proxy, appeal_types):
    user = AgentFactory(username="agent_p")
    user.set_password("right-password-123")
    user.save()
    guesser = client_at("198.51.100.66")
    for _ in range(5):
        guesser.post(reverse("login"), {"username": "agent_p", "password": "wrong"})
    assert guesser.post(reverse("login"), {"username": "agent_p", "password": "right-password-123"}).status_code == 429
    # The agent, from their own address behind the same proxy, is not locked out by the guesser.
    agent = client_at("203.0.113.20")
    response = agent.post(reverse("login"), {"username": "agent_p", "password": "right-password-123"})
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F"

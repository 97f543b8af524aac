"""Tracking: `/appeals/track/` mails a signed link; `/appeals/status/<token>/` shows the appeal."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AppealFactory
from tickets.models import AppealEvent, OutboundEmail
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def appeal(appeal_types):
    return AppealFactory(contact_email="Wang.Fang@example.com", language="en")


def track(client, reference, email):
    return client.post(reverse("tickets:track"), {"reference": reference, "email": email}, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db(transaction=True)
def test_track_mails_a_link_when_reference_and_email_match(en_client, appeal, celery_worker, smtp_server):
    """The match and the e-mail happen after the response, in a task the look-up queues."""
    response = track(en_client, appeal.reference.lower(), "wang.fang@EXAMPLE.com")
    assert response.status_code == 200
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "Wang.Fang@example.com"
    assert OutboundEmail.objects.filter(appeal=appeal, template="tracking_link").count() == 1
    path = re.search(r"http://testserver(/appeals/status/\S+/)", message.get_body(("plain",)).get_content()).group(1)
    status = en_client.get(path)
    assert status.status_code == 200
    assert appeal.reference in status.content.decode()


@pytest.mark.parametrize(
    ("reference", "email"),
    [("match", "match"), ("AP-ZZZZ-ZZZZ", "match"), ("match", "someone.else@example.com")],
    ids=["match", "unknown-reference", "wrong-email"],
)
def test_track_answers_the_same_way_whether_or_not_they_match(client, appeal, reference, email):
    reference = appeal.reference if reference == "match" else reference
    email = appeal.contact_email if email == "match" else email
    response = track(client, reference, email)
    assert response.status_code == 200
    assert "tickets/track_sent.html" in [t.name for t in response.templates]
    assert "If the reference and e-mail address match an appeal" in response.content.decode()
    # Nothing that differs happens in the request: the e-mail is queued by a task after the response.
    assert OutboundEmail.objects.filter(template="tracking_link").count() == 0


def test_track_form_errors_are_shown(client, appeal_types):
    response = track(client, "", "not-an-email")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Enter a valid email address." in html
    assert OutboundEmail.objects.count() == 0


def test_track_is_rate_limited_per_ip(client, appeal, settings):
    settings.RATELIMIT_TRACK_PER_IP = "3/h"
    for _ in range(3):
        assert track(client, "AP-AAAA-AAAA", "x@example.com").status_code == 200
    response = track(client, appeal.reference, appeal.contact_email)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert OutboundEmail.objects.count() == 0


def test_track_is_rate_limited_per_reference_across_ips(client, appeal, settings):
    settings.RATELIMIT_TRACK_PER_REFERENCE = "2/h"
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert (
            client.post(
                reverse("tickets:track"), {"reference": appeal.reference, "email": "a@example.com"}, REMOTE_ADDR=ip
            ).status_code
            == 200
        )
    response = client.post(
        reverse("tickets:track"), {"reference": appeal.reference, "email": appeal.contact_email}, REMOTE_ADDR="198.51.100.3"
    )
    assert response.status_code == 429
    assert OutboundEmail.objects.count() == 0


def test_status_page_shows_state_promised_time_and_evidence(en_client, appeal):
    response = en_client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Submitted" in html
    assert "We promise an answer by" in html
    assert timezone.localtime(appeal.sla_due_at).strftime("%Y-%m-%d %H:%M") in html
    assert "Evidence we received" in html


def test_expired_link_is_refused_with_a_way_to_get_a_new_one(en_client, appeal):
    with time_machine.travel(timezone.now() - timedelta(days=31)):
        token = tracking_token_make(appeal.reference)
    response = en_client.get(reverse("tickets:status", args=[token]))
    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has expired" in html
    assert reverse("tickets:track") in html
    assert appeal.reference not in html


def test_link_just_inside_30_days_still_works(client, appeal):
    with time_machine.travel(timezone.now() - timedelta(days=29, hours=23)):
        token = tracking_token_make(appeal.reference)
    assert client.get(reverse("tickets:status", args=[token])).status_code == 200


@pytest.mark.parametrize("tamper", ["swap-reference", "flip-signature", "garbage"])
def test_tampered_link_is_refused(en_client, appeal, tamper):
    other = AppealFactory()
    token = tracking_token_make(appeal.reference)
    if tamper == "swap-reference":
        other_token = tracking_token_make(other.reference)
        token = other_token.split(":")[0] + ":" + ":".join(token.split(":")[1:])
    elif tamper == "flip-signature":
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    else:
        token = "not-a-token"
    response = en_client.get(reverse("tickets:status", args=[token]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "This link is not valid" in html
    assert appeal.reference not in html and other.reference not in html


def test_appellant_withdraws_from_the_status_page(en_client, appeal):
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    response = en_client.post(url, {"action": "withdraw", "comment": "Solved it in the app.", "confirm": "on"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "withdrawn"
    assert appeal.closed_at is not None  # the SLA clock stops (sla_due_at stays for the record)
    event = AppealEvent.objects.get(appeal=appeal, kind="withdraw")
    assert (event.from_state, event.to_state, event.comment) == ("submitted", "withdrawn", "Solved it in the app.")
    assert OutboundEmail.objects.filter(appeal=appeal, template="withdrawn").count() == 1
    page = en_client.get(url).content.decode()
    assert "You withdrew this appeal." in page
    assert "Withdraw this appeal" not in page


def test_withdraw_needs_confirmation(en_client, appeal):
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    response = en_client.post(url, {"action": "withdraw", "comment": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def test_a_withdrawn_appeal_cannot_be_withdrawn_again(en_client, appeal):
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    en_client.post(url, {"action": "withdraw", "confirm": "on"})
    response = en_client.post(url, {"action": "withdraw", "confirm": "on"}, follow=True)
    assert "This appeal can no longer be withdrawn" in response.content.decode()
    assert AppealEvent.objects.filter(appeal=appeal, kind="withdraw").count() == 1
    assert OutboundEmail.objects.filter(appeal=appeal, template="withdrawn").count() == 1


def _query_shapes(queries) -> list[str]:
    """The statements run, with their literal values masked: what was done, not with which values."""
    return [re.sub(r"'[^']*'|\b\d+\b", "?", query["sql"]) for query in queries]


def test_track_lookup_does_the_same_work_whether_or_not_it_matches(client, appeal, django_capture_on_commit_callbacks):
    work = {}
    for outcome, email in (("match", appeal.contact_email), ("no match", "someone.else@example.com")):
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as queued:
            response = track(client, appeal.reference, email)
        assert response.status_code == 200
        work[outcome] = (_query_shapes(queries.captured_queries), len(queued))
    assert work["match"] == work["no match"]
    assert work["match"][1] == 1  # one task queued either way; it alone knows whether to send
    assert OutboundEmail.objects.count() == 0 and AppealEvent.objects.filter(kind="tracking_link").count() == 0


def test_track_per_reference_limit_counts_only_failed_lookups(en_client, appeal, settings):
    settings.RATELIMIT_TRACK_PER_REFERENCE = "2/h"
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):  # the appellant, as often as they need
        response = en_client.post(
            reverse("tickets:track"), {"reference": appeal.reference, "email": appeal.contact_email}, REMOTE_ADDR=ip
        )
        assert response.status_code == 200
    for ip in ("203.0.113.1", "203.0.113.2"):  # someone who knows the reference but not the e-mail
        assert (
            en_client.post(
                reverse("tickets:track"), {"reference": appeal.reference, "email": "guess@example.com"}, REMOTE_ADDR=ip
            ).status_code
            == 200
        )
    response = en_client.post(
        reverse("tickets:track"),
        {"reference": appeal.reference, "email": "guess2@example.com"},
        REMOTE_ADDR="203.0.113.3",
    )
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()

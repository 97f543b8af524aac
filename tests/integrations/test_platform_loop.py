"""The platform integration's whole loop, over HTTP, with a real Celery worker on Redis, a real SMTP
server and a real webhook receiver verifying every delivery with the `standardwebhooks` package:
the platform files an appeal by API (twice with the same Idempotency-Key: one appeal) → an agent
decides it in the console → the receiver gets `appeal.decided` and `appeal.released` → the platform
reports the unbind done → the appellant's page and e-mail say so."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import Evidence
from tests.tickets.api.conftest import ApiClient, api_key_issue
from tests.tickets.api.test_appeal_create import CONTACTS, same_again
from tests.tickets.factories import AgentFactory, console_act, status_path, submission
from tickets.models import Appeal


def received_types(receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.accepted()]


@pytest.mark.django_db(transaction=True)
def test_filed_by_api_decided_in_the_console_carried_out_by_the_platform_and_told_to_the_appellant(
    appeal_types, celery_worker, smtp_server, subscription, receiver, evidence_root
):
    platform = ApiClient(Client(), api_key_issue(subscription.integration))
    appeal_type = appeal_types["access_card_unbind"]
    body = {"appeal_type": appeal_type.code, "registered_contacts": json.dumps(CONTACTS), **submission(appeal_type)}

    # The platform files it; its retry with the same Idempotency-Key files nothing more.
    again = same_again(body)  # the same fields and file bytes, read before the first request sends them
    first = platform.post(reverse("api:appeal-create"), body, HTTP_IDEMPOTENCY_KEY="wallet-4711")
    retry = platform.post(reverse("api:appeal-create"), again, HTTP_IDEMPOTENCY_KEY="wallet-4711")
    assert first.status_code == 201, first.content
    assert retry.status_code == 201 and retry.json() == first.json()
    appeal = Appeal.objects.get()
    assert appeal.integration == subscription.integration and appeal.registered_contacts == CONTACTS
    (acknowledgement,) = smtp_server.wait_for(1)
    assert appeal.reference in acknowledgement["Subject"]
    receiver.wait_for(1)
    assert received_types(receiver) == ["appeal.submitted"]

    # The agent claims it, checks the processed evidence and approves it in the console.
    evidence = list(Evidence.objects.filter(appeal=appeal))
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=len(evidence))
    agent = AgentFactory(username="agent", email="agent@example.com")
    console = Client()
    console.force_login(agent)
    console_act(console, appeal, "claim")
    for item in evidence:
        console.post(reverse("desk:verify", args=[appeal.reference, item.pk]), {"verified": "1"})
    console_act(console, appeal, "approve", comment="Your access card is being unbound.")
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment) == ("approved", "released")

    # The platform hears of the decision and of the release, signed, each once.
    receiver.wait_for(3)
    assert received_types(receiver) == ["appeal.submitted", "appeal.decided", "appeal.released"]
    assert len({r.webhook_id for r in receiver.received}) == 3

    # It carries the unbind out and reports it; the appellant's e-mail and page say so.
    report = platform.post(
        reverse("api:fulfilment-report", args=[appeal.reference]),
        json.dumps({"outcome": "done", "detail": "Card 6222 unbound."}),
        content_type="application/json",
    )
    assert report.status_code == 200 and report.json()["fulfilment"] == "done"
    messages = smtp_server.wait_for(3)
    assert "was approved" in messages[1]["Subject"]
    carried_out = messages[2].get_body(("plain",)).get_content()
    assert "Your access card has been unbound from the account." in carried_out
    page = Client().get(status_path(messages[2]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your access card has been unbound from the account." in page
    assert 'data-fulfilment="done"' in page
    assert "Card 6222" not in page  # the platform's detail is for the agents

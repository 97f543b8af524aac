"""The whole loop, over HTTP, with a real Celery worker on Redis and a real SMTP server:
appellant files → agent claims → requests information → appellant answers with new evidence →
agent verifies and proposes approval → a different supervisor approves. Every e-mail arrives."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import AgentFactory, SupervisorFactory, console_act, status_path, submission
from tickets.models import Appeal, AppealEvent, OutboundEmail
from tickets.services.hold import release_sweep


@pytest.mark.django_db(transaction=True)
def test_appeal_loop_from_filing_to_second_approval(appeal_types, reason_codes, celery_worker, smtp_server, en_client):
    appellant, agent_client, supervisor_client = en_client, Client(), Client()
    agent, supervisor = AgentFactory(username="agent"), SupervisorFactory(username="supervisor")
    agent_client.force_login(agent)
    supervisor_client.force_login(supervisor)

    # The appellant files; the acknowledgement arrives with a tracking link.
    appeal_type = appeal_types["realname_unbind"]
    assert appellant.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type)).status_code == 302
    appeal = Appeal.objects.get()
    (acknowledgement,) = smtp_server.wait_for(1)
    assert appeal.reference in acknowledgement["Subject"]
    link = status_path(acknowledgement)

    # The agent claims it and asks for a clearer photo.
    console_act(agent_client, appeal, "claim")
    console_act(
        agent_client,
        appeal,
        "request_info",
        comment="Please send a sharper photo of the back of your ID card.",
        request_kind=["id_back"],
        request_reason=["id_back_blurred"],
    )
    request_mail = smtp_server.wait_for(2)[1]
    assert "We need more information" in request_mail["Subject"]
    assert "sharper photo of the back" in request_mail.get_body(("plain",)).get_content()
    # Each e-mail carries its own freshly signed link to the same appeal.
    assert appeal.reference in appellant.get(status_path(request_mail)).content.decode()

    # The appellant answers from the status page with a new file.
    page = appellant.get(link).content.decode()
    assert "Answer our request" in page and "sharper photo of the back" in page
    assert "ID card, back: The back of the ID card is blurred" in page  # the slot asked for, with its reason
    response = appellant.post(
        link,
        {
            "action": "provide_info",
            "message": "Here is a sharper one.",
            "evidence_id_back": files.jpeg("id_back_sharp.jpg", seed=9),
        },
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    assert Evidence.objects.filter(appeal=appeal, kind="id_back").count() == 2
    # The agent holding it is told, in the console's language.
    notice = smtp_server.wait_for(3)[2]
    assert notice["To"] == "agent@example.com" and appeal.reference in notice["Subject"]

    # The agent verifies each kind; the proposal goes to a supervisor.
    for evidence in Evidence.objects.filter(appeal=appeal):
        agent_client.post(reverse("desk:verify", args=[appeal.reference, evidence.pk]), {"verified": "1"})
    # The handheld photo shows the code the form issued (and the acknowledgement repeated): confirmed.
    code = Appeal.objects.get(pk=appeal.pk).fresh_photo_code
    assert code and f"The code in your photo holding your ID card: {code}." in acknowledgement.get_body(("plain",)).get_content()
    refused = console_act(agent_client, appeal, "propose_approval", comment="ID matches the account holder.")
    assert "Confirm that the code written on the paper in the handheld photo matches" in refused.content.decode()
    console_act(agent_client, appeal, "propose_approval", comment="ID matches the account holder.", code_matches="on")
    appeal.refresh_from_db()
    assert (appeal.state, appeal.proposed_by) == ("pending_approval", agent)

    queue = supervisor_client.get(reverse("desk:queue"), {"queue": "pending_mine"}).context["page"].rows
    assert [a.reference for a in queue] == [appeal.reference]
    console_act(supervisor_client, appeal, "second_approve", comment="Your real-name verification is removed.", code_matches="on")
    appeal.refresh_from_db()
    assert appeal.state == "approved"

    decision = smtp_server.wait_for(4)[3]
    assert "was approved" in decision["Subject"]
    assert "Your real-name verification is removed." in decision.get_body(("plain",)).get_content()
    celery_worker.finished.wait_for("tickets.tasks.appeal_submitted")  # sends the acknowledgement
    celery_worker.finished.wait_for("tickets.tasks.email_deliver", count=3)
    assert set(OutboundEmail.objects.values_list("template", "status")) == {
        ("acknowledgement", "sent"),
        ("request_info", "sent"),
        ("appellant_answered_staff", "sent"),
        ("approved", "sent"),
    }
    assert len(smtp_server.messages) == 4

    kinds = list(AppealEvent.objects.filter(appeal=appeal).exclude(kind__startswith="evidence_").values_list("kind", flat=True))
    # The approval put the high-risk appeal on its security hold, in its transaction.
    assert kinds == [
        "submit",
        "claim",
        "request_info",
        "provide_info",
        "fresh_photo_code_confirmed",
        "propose_approval",
        "fresh_photo_code_confirmed",
        "second_approve",
        "hold",
    ]
    assert "Your approval takes effect on" in decision.get_body(("plain",)).get_content()
    held = appellant.get(link).content.decode()
    assert "Your appeal was approved." in held
    assert 'data-fulfilment="held"' in held and "Until then it is on a security hold" in held

    # No registered contact objected: the sweep releases it when the hold ends.
    appeal.refresh_from_db()
    with time_machine.travel(appeal.hold_until + timedelta(seconds=1)):
        assert release_sweep() == [appeal.reference]
    assert AppealEvent.objects.filter(appeal=appeal).latest("pk").kind == "release"
    final = appellant.get(link).content.decode()
    assert "Your appeal was approved." in final
    assert 'data-fulfilment="released"' in final

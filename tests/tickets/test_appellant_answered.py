"""When the appellant answers or reopens, the agent who held the appeal is e-mailed, and the answered
appeal comes first in their "Mine" queue until they open it or act on it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.models import OutboundEmail
from tickets.outbox.services import outbox_deliver
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


def status_url(appeal) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference)])


def mine(client, **params) -> list[str]:
    response = client.get(reverse("desk:queue"), {"queue": "mine", **params})
    assert response.status_code == 200
    return [row.reference for row in response.context["rows"]]


def test_the_assignee_is_emailed_in_the_console_language_when_the_appellant_answers(client, appeal_types, smtp_server):
    agent = AgentFactory(email="agent.wu@example.com")
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now(), language="en")
    response = client.post(
        status_url(appeal),
        {
            "action": "provide_info",
            "message": "My private answer 13800138000.",
            "kind": "id_back",
            "files": files.jpeg("back.jpg"),
        },
    )
    assert response.status_code == 302
    (email,) = OutboundEmail.objects.filter(template="appellant_answered_staff")
    assert email.to == "agent.wu@example.com"
    assert email.subject == f"申诉 {appeal.reference}：申诉人已回复"
    assert "back.jpg" in email.body_text and "13800138000" not in email.body_text + email.body_html
    assert f"http://testserver/desk/appeals/{appeal.reference}/" in email.body_text

    assert outbox_deliver(email_id=email.pk) is True
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "agent.wu@example.com"
    assert appeal.reference in message["Subject"]
    assert "在您打开之前，它排在您队列的最前面" in message.get_body(("plain",)).get_content()


def test_the_agent_who_decided_is_emailed_when_the_appellant_reopens(client, appeal_types):
    agent = AgentFactory(email="agent.li@example.com")
    appeal = AppealFactory(state="rejected", assignee=agent, closed_at=timezone.now() - timedelta(days=1))
    response = client.post(
        status_url(appeal),
        {
            "action": "reopen",
            "message": "A sharper photo.",
            "kind": "id_front",
            "files": files.jpeg("front.jpg"),
        },
    )
    assert response.status_code == 302
    (email,) = OutboundEmail.objects.filter(template="appellant_answered_staff")
    assert email.to == "agent.li@example.com"
    assert email.subject == f"申诉 {appeal.reference}：申诉人已重新打开"
    assert "“未分派”队列" in email.body_text and "front.jpg" in email.body_html


def test_a_refused_answer_emails_nobody_and_marks_nothing(en_client, appeal_types):
    appeal = AppealFactory(state="awaiting_info", assignee=AgentFactory(), sla_paused_at=timezone.now())
    response = en_client.post(
        status_url(appeal),
        {
            "action": "provide_info",
            "message": "Here.",
            "kind": "other",
            "files": files.upload("photo.jpg", files.elf_executable_bytes(), "image/jpeg"),
        },
    )
    assert response.status_code == 400
    appeal.refresh_from_db()
    assert appeal.answered_at is None
    assert not OutboundEmail.objects.filter(template="appellant_answered_staff").exists()


def test_an_answered_appeal_comes_first_in_mine_until_the_assignee_opens_it(client, appeal_types):
    agent = AgentFactory()
    now = timezone.now()
    soon = [AppealFactory(state="in_review", assignee=agent, sla_due_at=now + timedelta(hours=h)) for h in (1, 2, 3)]
    waiting = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=now, sla_due_at=now + timedelta(hours=50))
    client.force_login(agent)
    assert mine(client) == [a.reference for a in soon] + [waiting.reference]

    client.post(
        status_url(waiting), {"action": "provide_info", "message": "Sent.", "kind": "other", "files": files.jpeg("other.jpg")}
    )
    assert mine(client) == [waiting.reference] + [a.reference for a in soon]
    queue = client.get(reverse("desk:queue"), {"queue": "mine"}).content.decode()
    assert queue.count("data-answered") == 1 and "申诉人已回复" in queue

    # A supervisor looking at it does not count as the assignee having seen it.
    supervisor = SupervisorFactory()
    client.force_login(supervisor)
    client.get(reverse("desk:appeal", args=[waiting.reference]))
    client.force_login(agent)
    assert mine(client)[0] == waiting.reference

    page = client.get(reverse("desk:appeal", args=[waiting.reference])).content.decode()
    assert "data-answered" in page
    assert mine(client) == [a.reference for a in soon] + [waiting.reference]
    assert "data-answered" not in client.get(reverse("desk:appeal", args=[waiting.reference])).content.decode()


def test_an_action_or_a_note_by_the_assignee_clears_the_answered_mark(client, appeal_types):
    agent = AgentFactory()
    first = AppealFactory(state="in_review", assignee=agent, answered_at=timezone.now())
    second = AppealFactory(state="in_review", assignee=agent, answered_at=timezone.now())
    client.force_login(agent)
    client.post(reverse("desk:comment", args=[first.reference]), {"text": "Checked the new photo."})
    client.post(
        reverse("desk:act", args=[second.reference]),
        {"action": "escalate", "expected_state": "in_review", "comment": "Looks forged."},
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.answered_at, second.answered_at, second.state) == (None, None, "escalated")


@pytest.mark.parametrize("answered", [0, 7, 25, 27, 30])
def test_mine_pages_walk_the_answered_then_the_rest_each_in_sla_order(client, appeal_types, answered):
    agent = AgentFactory()
    now = timezone.now()
    appeals = [
        AppealFactory(
            state="in_review",
            assignee=agent,
            sla_due_at=now + timedelta(minutes=(i * 7) % 30),
            answered_at=now if i % 30 < answered else None,
        )
        for i in range(30)
    ]
    AppealFactory(state="in_review", assignee=AgentFactory(), answered_at=now)  # someone else's
    client.force_login(agent)
    seen, after, pages = [], None, 0
    while True:
        response = client.get(reverse("desk:queue"), {"queue": "mine", "size": "25", **({"after": after} if after else {})})
        page = response.context["page"]
        assert page.is_first == (after is None)
        seen += [a.reference for a in page.rows]
        pages += 1
        after = page.next_cursor
        if not after:
            break
    expected = sorted(appeals, key=lambda a: (a.answered_at is None, a.sla_due_at, a.pk))
    assert seen == [a.reference for a in expected]
    assert pages == 2


def test_a_replaced_refused_file_also_brings_the_appeal_first_in_mine(client, appeal_types):
    from evidence.models import Evidence

    agent = AgentFactory()
    now = timezone.now()
    first = AppealFactory(state="in_review", assignee=agent, sla_due_at=now + timedelta(hours=1))
    appeal = AppealFactory(state="in_review", assignee=agent, sla_due_at=now + timedelta(hours=9))
    refused = Evidence.objects.create(
        appeal=appeal,
        kind="id_front",
        status="rejected",
        original_name="front.png",
        content_type="image/png",
        size=10,
        sha256="0" * 64,
    )
    response = client.post(
        status_url(appeal),
        {"action": "replace", "evidence": str(refused.pk), f"replace-{refused.pk}-file": files.jpeg("front-again.jpg")},
    )
    assert response.status_code == 302
    client.force_login(agent)
    assert mine(client) == [appeal.reference, first.reference]
    assert OutboundEmail.objects.filter(template="evidence_replaced_staff", to=agent.email).count() == 1

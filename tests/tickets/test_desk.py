"""The agent console over HTTP: access, queues, the appeal page and its actions."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from evidence.models import Evidence, EvidenceAccess
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory, appeal_worked_on, submission
from tickets.models import Appeal, AppealEvent, OutboundEmail

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db):
    return AgentFactory(username="agent1")


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_console_needs_a_signed_in_agent(client, appeal_types):
    appeal = AppealFactory()
    for url in (reverse("desk:queue"), reverse("desk:appeal", args=[appeal.reference])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(UserFactory())
    assert client.get(reverse("desk:queue")).status_code == 403
    assert client.post(reverse("desk:act", args=[appeal.reference]), {"action": "claim"}).status_code == 403
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def queries_for_queue(client, count: int) -> int:
    AppealFactory.create_batch(count, assignee=AgentFactory())
    client.get(reverse("desk:queue"))  # the appeal types and agents are cached, as on a working console
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("desk:queue"), {"queue": "open", "size": "200"})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == Appeal.objects.count()
    return len(queries)


def test_queue_query_count_is_the_same_for_10_and_200_appeals(client, appeal_types):
    client.force_login(AgentFactory())
    with_10 = queries_for_queue(client, 10)
    Appeal.objects.all().delete()
    with_200 = queries_for_queue(client, 200)
    assert with_10 == with_200 <= 10


def test_queues_filter_and_search(agent_client, agent, appeal_types):
    mine = AppealFactory(state="in_review", assignee=agent, account_identifier="needle_account")
    unassigned = AppealFactory()
    escalated = AppealFactory(state="escalated", assignee=AgentFactory())

    def refs(**params):
        return {a.reference for a in agent_client.get(reverse("desk:queue"), params).context["page"].rows}

    assert refs(queue="mine") == {mine.reference}
    assert refs(queue="unassigned") == {unassigned.reference}
    assert refs(queue="escalated") == {escalated.reference}
    assert refs(queue="open", q="NEEDLE_ACCOUNT") == {mine.reference}
    assert refs(queue="open", q=unassigned.reference.lower()) == {unassigned.reference}
    assert refs(queue="open", state="escalated") == {escalated.reference}


def test_queue_pages_follow_the_sla_order(agent_client, appeal_types):
    appeals = AppealFactory.create_batch(30)
    first = agent_client.get(reverse("desk:queue"), {"queue": "open", "size": "25"}).context["page"]
    second = agent_client.get(reverse("desk:queue"), {"queue": "open", "size": "25", "after": first.next_cursor}).context["page"]
    ordered = sorted(appeals, key=lambda a: (a.sla_due_at, a.pk))
    assert [a.pk for a in first.rows + second.rows] == [a.pk for a in ordered]
    assert second.next_cursor is None


@pytest.mark.usefixtures("en_client")
def test_appeal_page_shows_only_the_actions_this_user_may_take(agent_client, agent, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=agent)
    html = agent_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    for shown in ("request_info", "propose_approval", "reject", "escalate"):
        assert f'data-action="{shown}"' in html
    for hidden in ("claim", "approve", "second_approve", "send_back", "resume"):
        assert f'data-action="{hidden}"' not in html
    assert "**************002X" in html


@pytest.mark.usefixtures("en_client")
def test_a_blocked_approval_is_a_clear_message_not_an_error(agent_client, agent, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=agent)
    response = agent_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "propose_approval", "expected_state": "in_review"},
        follow=True,
    )
    assert response.status_code == 200
    assert "It cannot be approved yet: ID card, front is missing." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "in_review"


@pytest.mark.usefixtures("en_client")
def test_a_stale_page_is_told_the_appeal_changed(agent_client, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    response = agent_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "claim", "expected_state": "submitted"},
        follow=True,
    )
    html = response.content.decode()
    assert "This appeal changed while you were looking at it: it is now “In review”" in html
    assert 'data-state="in_review"' in html


def test_agent_claims_verifies_and_views_evidence(agent_client, agent, appeal_types):
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal, kind="id_front")
    agent_client.post(reverse("desk:act", args=[appeal.reference]), {"action": "claim", "expected_state": "submitted"})
    appeal.refresh_from_db()
    assert (appeal.state, appeal.assignee) == ("in_review", agent)

    agent_client.post(reverse("desk:verify", args=[appeal.reference, evidence.pk]), {"verified": "1"})
    evidence.refresh_from_db()
    assert evidence.verified_by == agent and evidence.verified_at is not None

    response = agent_client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    served, stored = b"".join(response.streaming_content), evidence.file.open("rb").read()
    # The same photo, marked with the agent's name (tests/evidence/test_watermark.py checks the mark).
    assert served != stored and Image.open(io.BytesIO(served)).size == Image.open(io.BytesIO(stored)).size
    assert EvidenceAccess.objects.get().user == agent
    assert AppealEvent.objects.filter(appeal=appeal, kind="evidence_viewed", actor=agent).count() == 1


def test_evidence_is_404_for_anyone_but_staff(client, appeal_types):
    evidence = EvidenceFactory(appeal=AppealFactory())
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404
    client.force_login(UserFactory())
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404
    assert EvidenceAccess.objects.count() == 0


def test_bulk_claim_and_supervisor_assign(en_client, appeal_types):
    agent, supervisor = AgentFactory(), SupervisorFactory()
    appeals = AppealFactory.create_batch(3)
    en_client.force_login(agent)
    en_client.post(reverse("desk:bulk"), {"action": "claim", "references": [a.reference for a in appeals[:2]]})
    assert set(Appeal.objects.filter(assignee=agent).values_list("pk", flat=True)) == {a.pk for a in appeals[:2]}

    response = en_client.post(
        reverse("desk:bulk"),
        {"action": "assign", "assignee": agent.pk, "references": [appeals[2].reference]},
        follow=True,
    )
    assert "Only supervisors can assign appeals to others." in response.content.decode()
    en_client.force_login(supervisor)
    en_client.post(reverse("desk:bulk"), {"action": "assign", "assignee": agent.pk, "references": [appeals[2].reference]})
    appeals[2].refresh_from_db()
    assert appeals[2].assignee == agent


@pytest.mark.usefixtures("en_client")
def test_cooling_off_is_flagged_on_the_console(client, agent_client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    AppealFactory(
        appeal_type=appeal_type, account_identifier="lilei_2019", state="approved", closed_at=timezone.now() - timedelta(days=10)
    )
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    new = Appeal.objects.get(state="submitted")
    assert new.cooling_off_of is not None
    queue_html = agent_client.get(reverse("desk:queue"), {"queue": "unassigned"}).content.decode()
    assert "cooling-off" in queue_html
    detail = agent_client.get(reverse("desk:appeal", args=[new.reference])).content.decode()
    assert 'data-flag="cooling-off"' in detail and new.cooling_off_of.reference in detail


def test_no_cooling_off_after_30_days_or_for_another_type(client, appeal_types):
    AppealFactory(
        appeal_type=appeal_types["realname_unbind"],
        account_identifier="lilei_2019",
        state="approved",
        closed_at=timezone.now() - timedelta(days=31),
    )
    AppealFactory(
        appeal_type=appeal_types["phone_rebind"], account_identifier="lilei_2019", state="approved", closed_at=timezone.now()
    )
    appeal_type = appeal_types["realname_unbind"]
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert Appeal.objects.get(state="submitted").cooling_off_of is None


def test_staff_login_is_throttled(en_client, appeal_types):
    user = AgentFactory(username="agent_x")
    user.set_password("right-password-123")
    user.save()
    for _ in range(5):
        en_client.post(reverse("login"), {"username": "agent_x", "password": "wrong"})
    response = en_client.post(reverse("login"), {"username": "agent_x", "password": "right-password-123"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in en_client.session


def test_staff_login_reaches_the_console_after_the_second_factor(client, appeal_types):
    user = AgentFactory(username="agent_y")
    user.set_password("right-password-123")
    user.save()
    response = client.post(reverse("login"), {"username": "agent_y", "password": "right-password-123"})
    # No factor yet: the enrolment first (tests/test_two_factor.py), then the console.
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F"


def test_console_is_in_chinese_by_default(agent_client, agent, appeal_types):
    from tests.text import zh

    appeal = AppealFactory(state="in_review", assignee=agent)
    queue_html = agent_client.get(reverse("desk:queue")).content.decode()
    for message in ("All open", "Unassigned", "Awaiting info", "Decided"):
        assert zh(message) in queue_html
    detail = agent_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    for message in ("Request information", "Reject", "Escalate", "Timeline"):
        assert zh(message) in detail


def test_resume_offers_the_agents_to_hand_the_appeal_to(client, appeal_types):
    agent = AgentFactory(username="agent_resume")
    appeal = AppealFactory(state="escalated", assignee=agent)
    client.force_login(SupervisorFactory(username="sup_resume"))
    html = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert 'data-action="resume"' in html
    assert f'<option value="{agent.pk}">agent_resume</option>' in html
    response = client.post(
        reverse("desk:act", args=[appeal.reference]), {"action": "resume", "expected_state": "escalated", "assignee": agent.pk}
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert (appeal.state, appeal.assignee) == ("in_review", agent)


# --- Verification only of evidence that exists ------------------------------------------------------


def _console(client, appeal) -> str:
    return client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("rejected", "This file was refused by processing: it cannot be verified. The appellant must replace it."),
        ("pending", "This file is still being processed: it can be verified once it is ready."),
    ],
)
@pytest.mark.usefixtures("en_client")
def test_verify_url_refuses_a_file_that_is_not_ready(agent_client, agent, appeal_types, status, message):
    appeal = AppealFactory(state="in_review", assignee=agent)
    item = EvidenceFactory(appeal=appeal, kind="id_front", status=status, file="" if status == "rejected" else None)
    html = _console(agent_client, appeal)
    assert "Mark verified" not in html  # nothing to press on a file that is not ready
    response = agent_client.post(reverse("desk:verify", args=[appeal.reference, item.pk]), {"verified": "1"}, follow=True)
    assert message in response.content.decode()
    item.refresh_from_db()
    assert item.verified_at is None
    assert not AppealEvent.objects.filter(kind="evidence_verified").exists()


def test_console_names_what_blocks_an_approval_of_refused_id_photos(en_client, appeal_types):
    """A high-risk account_recovery whose ID front and back were refused after being marked verified:
    the console says so, and neither the proposal nor the second approval goes through over HTTP."""
    assignee, supervisor, second = AgentFactory(), SupervisorFactory(), SupervisorFactory()
    appeal = AppealFactory(appeal_type=appeal_types["account_recovery"], state="in_review", assignee=assignee)
    for kind in appeal.appeal_type.required_evidence:
        EvidenceFactory(appeal=appeal, kind=kind, verified_at=timezone.now(), verified_by=assignee)
    Evidence.objects.filter(appeal=appeal, kind__in=["id_front", "id_back"]).update(status="rejected", file="")
    en_client.force_login(supervisor)
    html = _console(en_client, appeal)
    assert "ID card, front: the file was refused, a replacement is needed." in html
    response = en_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "propose_approval", "expected_state": "in_review"},
        follow=True,
    )
    assert "It cannot be approved yet: ID card, front: the file was refused" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "in_review"

    pending = AppealFactory(
        appeal_type=appeal_types["account_recovery"], state="pending_approval", assignee=assignee, proposed_by=supervisor
    )
    for kind in pending.appeal_type.required_evidence:
        EvidenceFactory(
            appeal=pending,
            kind=kind,
            verified_at=timezone.now(),
            verified_by=assignee,
            **({"status": "rejected", "file": ""} if kind in ("id_front", "id_back") else {}),
        )
    en_client.force_login(second)
    en_client.post(
        reverse("desk:act", args=[pending.reference]), {"action": "second_approve", "expected_state": "pending_approval"}
    )
    pending.refresh_from_db()
    assert pending.state == "pending_approval"


# --- Acting on appeals one does not hold ------------------------------------------------------------


@pytest.mark.usefixtures("en_client")
def test_an_agent_not_holding_the_appeal_cannot_verify_reply_or_escalate(agent_client, agent, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    item = EvidenceFactory(appeal=appeal)
    html = _console(agent_client, appeal)
    assert 'data-action="escalate"' not in html
    assert "Mark verified" not in html
    assert 'name="public"' not in html and "Internal note only" in html

    verify = agent_client.post(reverse("desk:verify", args=[appeal.reference, item.pk]), {"verified": "1"}, follow=True)
    assert "Only the agent handling this appeal or a supervisor can verify its evidence." in verify.content.decode()
    reply = agent_client.post(
        reverse("desk:comment", args=[appeal.reference]),
        {"text": "Approved!", "public": "on"},
        follow=True,
    )
    assert "Only the agent handling this appeal or a supervisor can reply to the appellant." in reply.content.decode()
    escalate = agent_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "escalate", "comment": "Hmm.", "expected_state": "in_review"},
        follow=True,
    )
    assert "Only the agent handling this appeal or a supervisor can escalate it." in escalate.content.decode()

    appeal.refresh_from_db()
    item.refresh_from_db()
    assert appeal.state == "in_review" and item.verified_at is None
    assert not AppealEvent.objects.filter(appeal=appeal).exists()
    assert not OutboundEmail.objects.exists()
    # An internal note is still every agent's to write.
    agent_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "Device log looks odd."})
    assert AppealEvent.objects.get(appeal=appeal).kind == "note"


def test_the_assignee_verifies_replies_and_escalates(agent_client, agent, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=agent)
    item = EvidenceFactory(appeal=appeal)
    html = _console(agent_client, appeal)
    assert 'data-action="escalate"' in html and "Mark verified" in html and 'name="public"' in html
    agent_client.post(reverse("desk:verify", args=[appeal.reference, item.pk]), {"verified": "1"})
    agent_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "We are on it.", "public": "on"})
    agent_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "escalate", "comment": "Looks like a takeover.", "expected_state": "in_review"},
    )
    appeal.refresh_from_db()
    assert appeal.state == "escalated"
    assert list(AppealEvent.objects.filter(appeal=appeal).values_list("kind", flat=True)) == [
        "evidence_verified",
        "reply",
        "escalate",
    ]


def test_on_a_decided_appeal_only_internal_notes(en_client, appeal_types):
    supervisor = SupervisorFactory()
    appeal = AppealFactory(state="approved", assignee=AgentFactory(), closed_at=timezone.now())
    item = EvidenceFactory(appeal=appeal)
    en_client.force_login(supervisor)
    html = _console(en_client, appeal)
    assert 'name="public"' not in html and "Internal note only: this appeal is decided or closed." in html
    assert "Mark verified" not in html
    reply = en_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "PS", "public": "on"}, follow=True)
    assert "This appeal is decided or closed: only internal notes can be added." in reply.content.decode()
    verify = en_client.post(reverse("desk:verify", args=[appeal.reference, item.pk]), {"verified": "1"}, follow=True)
    assert "The appeal is closed: its evidence can no longer change." in verify.content.decode()
    en_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "Audit note."})
    assert list(AppealEvent.objects.filter(appeal=appeal).values_list("kind", flat=True)) == ["note"]
    assert not OutboundEmail.objects.exists()


# --- Who sees identity documents on the console ----------------------------------------------------


def test_console_shows_files_only_to_those_who_may_open_them(agent_client, agent, appeal_types):
    held_by_other = AppealFactory(state="in_review", assignee=AgentFactory())
    item = EvidenceFactory(appeal=held_by_other)
    html = _console(agent_client, held_by_other)
    assert 'data-evidence-status="not-available"' in html and "Not available to you" in html
    assert reverse("evidence:serve", args=[item.pk]) not in html

    # Need-to-know: an unassigned appeal's files too are shown to an agent only once they stated a reason.
    unassigned = AppealFactory(state="submitted")
    item = EvidenceFactory(appeal=unassigned)
    html = _console(agent_client, unassigned)
    assert reverse("evidence:serve", args=[item.pk]) not in html and "Why do you need to see these documents?" in html
    agent_client.post(reverse("desk:evidence_reason", args=[unassigned.reference]), {"reason": "Sorting the queue."})
    html = _console(agent_client, unassigned)
    assert reverse("evidence:serve", args=[item.pk]) in html and "Not available to you" not in html

    held = AppealFactory(state="in_review", assignee=agent)
    item = EvidenceFactory(appeal=held)
    html = _console(agent_client, held)
    assert reverse("evidence:serve", args=[item.pk]) in html and "Not available to you" not in html


def test_console_links_a_refused_file_to_its_replacement(agent_client, agent, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=agent)
    refused = EvidenceFactory(appeal=appeal, kind="id_back", status="rejected", file="", status_reason="Damaged.")
    replacement = EvidenceFactory(appeal=appeal, kind="id_back", replaces=refused)
    html = _console(agent_client, appeal)
    assert "The appellant sent a replacement." in html and "Sent in place of a refused file." in html
    assert html.count("Mark verified") == 1
    assert reverse("desk:verify", args=[appeal.reference, replacement.pk]) in html
    assert reverse("desk:verify", args=[appeal.reference, refused.pk]) not in html


def test_queue_reads_the_appeal_types_and_agents_from_the_cache(agent_client, appeal_types):
    AppealFactory.create_batch(3)
    agent_client.get(reverse("desk:queue"))
    with CaptureQueriesContext(connection) as queries:
        assert agent_client.get(reverse("desk:queue")).status_code == 200
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "tickets_appealtype" not in sql and '"auth_group"."name" IN' not in sql  # the types, the agent list
    assert len(queries) <= 5  # session, user, the session's second factor (django-otp), the user's groups, the page


def test_cached_types_and_agents_follow_the_admins_changes(agent_client, appeal_types):
    appeal = AppealFactory()
    first = agent_client.get(reverse("desk:queue")).content.decode()
    newcomer = UserFactory(username="newcomer")
    assert "newcomer" not in first
    newcomer.groups.add(Group.objects.get(name="agents"))  # as the admin's user form does
    kind = appeal.appeal_type
    kind.name_zh_hans = kind.name_en = "Renamed type"
    kind.save()
    page = agent_client.get(reverse("desk:queue")).content.decode()
    assert f'<option value="{newcomer.pk}">newcomer</option>' in page
    assert "Renamed type" in page
    newcomer.is_active = False
    newcomer.save()
    assert "newcomer" not in agent_client.get(reverse("desk:queue")).content.decode()


def test_queue_filters_by_type_assignee_and_risk_without_queries_of_their_own(agent_client, agent, appeal_types):
    low = next(t for t in appeal_types.values() if t.risk == "low")
    high = next(t for t in appeal_types.values() if t.risk == "high")
    mine = AppealFactory(appeal_type=high, state="in_review", assignee=agent)
    other = AppealFactory(appeal_type=low)

    def refs(**params):
        response = agent_client.get(reverse("desk:queue"), {"queue": "open", **params})
        return {a.reference for a in response.context["page"].rows}

    assert refs(appeal_type=low.pk) == {other.reference}
    assert refs(assignee=agent.pk) == {mine.reference}
    assert refs(risk="high") == {mine.reference}
    assert refs(risk="low", appeal_type=high.pk) == set()
    assert refs(appeal_type="999999") == {mine.reference, other.reference}  # not a type: no filter
    with CaptureQueriesContext(connection) as queries:
        agent_client.get(reverse("desk:queue"), {"queue": "open", "appeal_type": high.pk, "assignee": agent.pk, "risk": "high"})
    assert len(queries) <= 5  # session, user, the session's second factor (django-otp), the user's groups, the page


def test_queue_rows_and_filters_escape_what_an_admin_typed(client, appeal_types):
    """Rows and select options are built in Python: a type's name with markup shows as text."""
    from tickets.models import AppealType

    kind = AppealType.objects.get(code="realname_unbind")
    kind.name_zh_hans = kind.name_en = '<img src=x onerror="alert(1)">&"Unbind"'
    kind.save()
    appeal = AppealFactory(appeal_type=kind, assignee=AgentFactory(username="agent.o'neil"))
    client.force_login(SupervisorFactory())
    page = client.get(reverse("desk:queue"), {"queue": "open"}).content.decode()
    assert "<img src=x" not in page
    row = page[page.index(f'<tr data-appeal="{appeal.reference}">') :]
    row = row[: row.index("</tr>")]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&quot;Unbind&quot;" in row
    assert "agent.o&#x27;neil" in row
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&quot;Unbind&quot;</option>" in page


def test_the_queue_works_while_the_cache_is_down_and_an_admin_can_still_edit_a_type(
    agent_client, agent, appeal_types, settings, caplog
):
    from tests.conftest import free_port
    from tickets.models import AppealType

    appeal = AppealFactory(assignee=agent)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    response = agent_client.get(reverse("desk:queue"), {"queue": "open"})
    assert response.status_code == 200
    assert f'data-appeal="{appeal.reference}"' in response.content.decode()
    kind = AppealType.objects.get(pk=appeal.appeal_type_id)
    kind.name_en = kind.name_zh_hans = "Renamed while the cache is down"
    kind.save()  # the signal cannot drop the key: the save still succeeds
    assert "Renamed while the cache is down" in agent_client.get(reverse("desk:queue")).content.decode()
    assert "Reference data cache unavailable" in caplog.text


@pytest.mark.parametrize("size", [3, 12])
def test_appeal_page_runs_the_same_14_queries_however_many_files_records_and_events(
    client, appeal_types, django_assert_num_queries, size
):
    agent = AgentFactory()
    appeal = appeal_worked_on(size=size, agent=agent, supervisor=SupervisorFactory())
    client.force_login(agent)
    url = reverse("desk:appeal", args=[appeal.reference])
    client.get(url)  # the appeal types and agents are cached, as on a working console
    # Session, user, the session's second factor (django-otp), the user's groups; the appeal with its
    # type, its files, its events with their actors; each kind of record counted and paged; files seen
    # on other appeals; that day's appeals from the same contacts, listed and counted. An N+1 (a query
    # per file, record or event) fails here.
    with django_assert_num_queries(14):
        assert client.get(url).status_code == 200

"""Need-to-know evidence access (evidence/access.py, evidence/reasons.py): a staff member who does not
handle an appeal states a reason before seeing its files; the reason is stored, on the timeline, and in
the supervisors' daily digest, sent once a day. (Role by role: tests/test_authorization.py.)"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from evidence.models import EVIDENCE_REASON_MAX_CHARS, EvidenceAccess, EvidenceAccessReason, EvidenceReasonDigest
from evidence.reasons import evidence_reason_digest_send
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.models import AppealEvent, OutboundEmail
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 2, 10, 0, tzinfo=BEIJING)
NEXT_NIGHT = datetime(2026, 11, 3, 1, 0, tzinfo=BEIJING)  # when the hourly digest task covers 2026-11-02
REASON = "The appellant called about a duplicate report; checking the ID photo."


@pytest.fixture
def held_by_someone_else(appeal_types):
    appeal = AppealFactory(state="in_review", assignee=AgentFactory(username="holder"))
    return EvidenceFactory(appeal=appeal, kind="id_front")


def page(client, appeal) -> str:
    return client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()


def state_reason(client, appeal, reason=REASON):
    return client.post(reverse("desk:evidence_reason", args=[appeal.reference]), {"reason": reason}, follow=True)


def test_a_non_assignee_states_a_reason_then_sees_the_files_logged_and_in_the_digest(en_client, held_by_someone_else, settings):
    evidence, appeal = held_by_someone_else, held_by_someone_else.appeal
    supervisors = [SupervisorFactory(username="sup1"), SupervisorFactory(username="sup2")]
    agent = AgentFactory(username="curious")
    en_client.force_login(agent)
    serve = reverse("evidence:serve", args=[evidence.pk])
    with time_machine.travel(MORNING, tick=False):
        assert en_client.get(serve).status_code == 404
        assert en_client.get(reverse("evidence:thumbnail", args=[evidence.pk])).status_code == 404
        html = page(en_client, appeal)
        assert "data-evidence-reason-form" in html and "Why do you need to see these documents?" in html
        assert serve not in html and 'data-evidence-status="not-available"' in html
        assert not EvidenceAccess.objects.exists()

        answer = state_reason(en_client, appeal).content.decode()
        assert "Reason recorded: you may see these files until 11:00." in answer
        grant = EvidenceAccessReason.objects.get()
        assert (grant.appeal, grant.user, grant.reason) == (appeal, agent, REASON)
        assert grant.expires_at - grant.created_at == timedelta(minutes=settings.EVIDENCE_REASON_GRANT_MINUTES)
        event = AppealEvent.objects.get(kind="evidence_reason")
        assert (event.actor, event.public) == (agent, False)
        assert REASON in event.comment and "2026-11-02 11:00" in event.comment
        html = page(en_client, appeal)
        assert serve in html and "data-evidence-reason-form" not in html and "data-evidence-reason-until" in html
        assert 'data-event="evidence_reason"' in html and "Reason given to see the evidence" in html

        assert en_client.get(serve).status_code == 200
        access = EvidenceAccess.objects.get()
        assert (access.user, access.by_appellant) == (agent, False)
        assert AppealEvent.objects.get(kind="evidence_viewed").actor == agent
        # The timeline entry is for staff: the appellant's status page does not show the reason.
        status = en_client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).content.decode()
        assert REASON not in status

    with time_machine.travel(NEXT_NIGHT, tick=False):
        assert evidence_reason_digest_send() == len(supervisors)
    emails = OutboundEmail.objects.filter(template="evidence_reason_digest").order_by("to")
    assert [e.to for e in emails] == ["sup1@example.com", "sup2@example.com"]
    for email in emails:  # the site's language: zh-hans
        assert email.subject == "2026-11-02 说明理由查看证据：1 条"
        for body in (email.body_text, email.body_html):
            assert appeal.reference in body and "curious" in body and "未负责以下申诉的工作人员" in body
        assert REASON in email.body_text and "The appellant called about a duplicate report" in email.body_html
        assert f"{settings.SITE_URL}/desk/appeals/{appeal.reference}/" in email.body_text


def test_the_digest_in_english(appeal_types, settings):
    settings.LANGUAGE_CODE = "en"
    SupervisorFactory(username="sup")
    appeal = AppealFactory(state="submitted")
    with time_machine.travel(MORNING, tick=False):
        EvidenceAccessReason.objects.create(
            appeal=appeal,
            user=AgentFactory(username="nosy"),
            reason="<b>Fraud check</b>",
            expires_at=MORNING + timedelta(hours=1),
        )
    with time_machine.travel(NEXT_NIGHT, tick=False):
        assert evidence_reason_digest_send() == 1
    email = OutboundEmail.objects.get()
    assert email.subject == "Evidence seen with a reason on 2026-11-02: 1 reason"
    assert "staff who do not handle these appeals stated these reasons to see their evidence files" in email.body_text
    assert "nosy" in email.body_text and "Reason: <b>Fraud check</b>" in email.body_text
    assert "&lt;b&gt;Fraud check&lt;/b&gt;" in email.body_html and "<b>Fraud" not in email.body_html
    assert "Staff member" in email.body_html and "2026-11-02 10:00" in email.body_html


def test_the_digest_sent_twice_the_same_day_sends_once(appeal_types):
    SupervisorFactory()
    appeal = AppealFactory()
    with time_machine.travel(MORNING, tick=False):
        EvidenceAccessReason.objects.create(appeal=appeal, user=AgentFactory(), reason="Check.", expires_at=MORNING)
    with time_machine.travel(NEXT_NIGHT, tick=False):
        assert evidence_reason_digest_send() == 1
    with time_machine.travel(NEXT_NIGHT + timedelta(hours=20), tick=False):  # the same day, later
        assert evidence_reason_digest_send() == 0
    assert OutboundEmail.objects.count() == 1
    assert EvidenceReasonDigest.objects.get().reasons == 1


@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_once(appeal_types):
    from tests.concurrency import at_once

    SupervisorFactory(email="sup@example.com")
    EvidenceAccessReason.objects.create(
        appeal=AppealFactory(), user=AgentFactory(), reason="Check.", created_at=MORNING, expires_at=MORNING
    )
    results = at_once(lambda: evidence_reason_digest_send(day=MORNING.date()))
    assert sorted(results) == [0, 1]
    assert OutboundEmail.objects.filter(to="sup@example.com").count() == 1


def test_the_digest_lists_only_its_day_and_sends_nothing_for_a_day_without_reasons(appeal_types):
    SupervisorFactory()
    appeal = AppealFactory()
    with time_machine.travel(MORNING - timedelta(days=1), tick=False):  # the day before: not in this digest
        EvidenceAccessReason.objects.create(appeal=appeal, user=AgentFactory(), reason="Older.", expires_at=MORNING)
    with time_machine.travel(NEXT_NIGHT, tick=False):
        assert evidence_reason_digest_send() == 0
    assert not OutboundEmail.objects.exists()
    assert EvidenceReasonDigest.objects.get().reasons == 0


def test_the_beat_task_sends_the_digest(appeal_types, settings):
    from evidence.tasks import evidence_reason_digest

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "evidence.tasks.evidence_reason_digest")
    assert entry["schedule"] <= 60 * 60
    assert evidence_reason_digest.name in settings.CELERY_TASK_TIME_LIMITS
    SupervisorFactory()
    with time_machine.travel(MORNING, tick=False):
        EvidenceAccessReason.objects.create(appeal=AppealFactory(), user=AgentFactory(), reason="Check.", expires_at=MORNING)
    with time_machine.travel(NEXT_NIGHT, tick=False):
        assert evidence_reason_digest.apply().get() == 1
        assert evidence_reason_digest.apply().get() == 0


def test_an_expired_grant_is_refused(client, held_by_someone_else, settings):
    settings.EVIDENCE_REASON_GRANT_MINUTES = 15
    evidence, appeal = held_by_someone_else, held_by_someone_else.appeal
    client.force_login(AgentFactory())
    serve = reverse("evidence:serve", args=[evidence.pk])
    with time_machine.travel(MORNING, tick=False):
        state_reason(client, appeal)
    with time_machine.travel(MORNING + timedelta(minutes=14), tick=False):
        assert client.get(serve).status_code == 200
    with time_machine.travel(MORNING + timedelta(minutes=15), tick=False):
        assert client.get(serve).status_code == 404
        assert client.get(reverse("evidence:thumbnail", args=[evidence.pk])).status_code == 404
        assert "data-evidence-reason-form" in page(client, appeal)  # asked again


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Say why you need to see these documents."),
        ("   ", "Say why you need to see these documents."),
        ("x" * (EVIDENCE_REASON_MAX_CHARS + 1), "Keep the reason to 300 characters (it has 301)."),
    ],
    ids=["empty", "blank", "oversize"],
)
def test_an_empty_or_oversize_reason_is_refused_and_nothing_is_stored(en_client, held_by_someone_else, reason, message):
    evidence, appeal = held_by_someone_else, held_by_someone_else.appeal
    en_client.force_login(AgentFactory())
    answer = state_reason(en_client, appeal, reason=reason)
    assert message in answer.content.decode()
    assert not EvidenceAccessReason.objects.exists()
    assert not AppealEvent.objects.filter(kind="evidence_reason").exists()
    assert en_client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404


def test_a_reason_at_the_limit_is_taken(client, held_by_someone_else):
    client.force_login(AgentFactory())
    state_reason(client, held_by_someone_else.appeal, reason="x" * EVIDENCE_REASON_MAX_CHARS)
    assert EvidenceAccessReason.objects.get().reason == "x" * EVIDENCE_REASON_MAX_CHARS


def test_on_a_decided_appeal_agents_cannot_state_a_reason_and_supervisors_must(en_client, appeal_types):
    from django.utils import timezone

    holder = AgentFactory()
    appeal = AppealFactory(state="rejected", assignee=holder, closed_at=timezone.now())
    evidence = EvidenceFactory(appeal=appeal)
    serve = reverse("evidence:serve", args=[evidence.pk])

    en_client.force_login(holder)  # even its former assignee
    html = page(en_client, appeal)
    assert "data-evidence-reason-form" not in html and "only the supervisors see its files, after stating a reason" in html
    answer = state_reason(en_client, appeal).content.decode()
    assert "This appeal is decided or closed: only supervisors may see its files." in answer
    assert not EvidenceAccessReason.objects.exists() and en_client.get(serve).status_code == 404

    en_client.force_login(SupervisorFactory())
    assert en_client.get(serve).status_code == 404
    assert "data-evidence-reason-form" in page(en_client, appeal)
    state_reason(en_client, appeal, reason="Complaint to the regulator: reviewing the decision.")
    assert en_client.get(serve).status_code == 200
    assert AppealEvent.objects.filter(kind="evidence_reason", appeal=appeal).count() == 1


def test_those_who_see_the_files_are_not_asked_for_a_reason(en_client, held_by_someone_else):
    appeal = held_by_someone_else.appeal
    en_client.force_login(appeal.assignee)
    html = page(en_client, appeal)
    assert "data-evidence-reason-form" not in html
    assert reverse("evidence:serve", args=[held_by_someone_else.pk]) in html
    answer = state_reason(en_client, appeal).content.decode()
    assert "You already see this appeal&#x27;s files: no reason is needed." in answer
    assert not EvidenceAccessReason.objects.exists()


def test_a_grant_opens_only_that_appeal(client, held_by_someone_else, appeal_types):
    other = EvidenceFactory(appeal=AppealFactory(state="in_review", assignee=AgentFactory()))
    client.force_login(AgentFactory())
    state_reason(client, held_by_someone_else.appeal)
    assert client.get(reverse("evidence:serve", args=[held_by_someone_else.pk])).status_code == 200
    assert client.get(reverse("evidence:serve", args=[other.pk])).status_code == 404


def test_the_reason_form_its_messages_the_timeline_and_the_digest_are_fully_chinese(appeal_types, settings):
    from django.test import Client

    from tests.test_zh_rendering import english_sentences, untranslated, visible_text

    settings.LANGUAGE_CODE = "zh-hans"
    sentences = english_sentences()
    SupervisorFactory()
    open_appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    decided = AppealFactory(state="approved", closed_at=MORNING)
    for appeal in (open_appeal, decided):
        EvidenceFactory(appeal=appeal)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(AgentFactory())
    texts = {}
    with time_machine.travel(MORNING, tick=False):
        texts["form"] = page(client, open_appeal)
        assert "您为什么需要查看这些文件？" in texts["form"]
        texts["empty"] = state_reason(client, open_appeal, reason="").content.decode()
        texts["oversize"] = state_reason(client, open_appeal, reason="长" * 301).content.decode()
        texts["decided"] = page(client, decided)
        texts["refused"] = state_reason(client, decided).content.decode()
        texts["granted"] = state_reason(client, open_appeal, reason="核对重复举报").content.decode()
        assert "理由已记录" in texts["granted"] and "核对重复举报（可查看文件至 2026-11-02 11:00）" in texts["granted"]
    with time_machine.travel(NEXT_NIGHT, tick=False):
        evidence_reason_digest_send()
    email = OutboundEmail.objects.get(template="evidence_reason_digest")
    texts.update(subject=email.subject, body_text=email.body_text, body_html=email.body_html)
    problems = {name: found for name, text in texts.items() if (found := untranslated(visible_text(text), sentences))}
    assert problems == {}

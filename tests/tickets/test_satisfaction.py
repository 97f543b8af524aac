"""Satisfaction (tickets/services/satisfaction.py): the decision e-mails carry a signed, single-use link
to rate the experience; GET shows the form and stores nothing, POST stores one rating per appeal and
decision cycle; a repeated, tampered or expired link is told so and stores nothing. The ratings reach
the metrics page and its CSV, the audit trail (internal) and the admin (read only)."""

import contextlib
import csv
import io
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.concurrency import at_once
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.models import Appeal, AppealEvent, OutboundEmail, SatisfactionRating
from tickets.reports.metrics import metrics_compute
from tickets.services import agent as agent_services
from tickets.services import satisfaction as satisfaction_services
from tickets.services.appellant import appeal_reopen
from tickets.services.satisfaction import SALT, satisfaction_token_make
from tickets.tracking import tracking_token_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reason_codes")]

ASK_EN = "How satisfied are you with how we handled your appeal?"
THANKS_EN = "Thank you for your rating"
ALREADY_EN = "Already rated: thank you"
INVALID_EN = "This link is not valid"
EXPIRED_EN = "This link has expired"
NOTHING_STORED_EN = "Nothing has been stored."


@pytest.fixture
def agent(db):
    return AgentFactory(username="wang")


def decided(appeal_types, agent, *, action="approve", code="access_card_unbind", **kwargs) -> Appeal:
    appeal = AppealFactory(appeal_type=appeal_types[code], state="in_review", assignee=agent, **kwargs)
    if action == "approve":
        verify_required_evidence(appeal, by=agent)
        return agent_services.appeal_approve(appeal=appeal, actor=agent, comment="Remove the card in the wallet app.")
    return agent_services.appeal_reject(
        appeal=appeal, actor=agent, reason="The screenshot shows another card.", reason_code="holder_mismatch"
    )


def rating_path(appeal: Appeal) -> str:
    """The rating link in the appeal's latest decision e-mail (text part), as a path."""
    email = OutboundEmail.objects.filter(appeal=appeal, template__in=("approved", "rejected")).latest("pk")
    return re.search(r"http://testserver(/appeals/rate/\S+/)", email.body_text).group(1)


def stored(appeal: Appeal) -> tuple:
    """What a refused or repeated link must leave as it was."""
    return (
        list(SatisfactionRating.objects.filter(appeal=appeal).values_list("pk", "score", "comment")),
        AppealEvent.objects.filter(appeal=appeal).count(),
    )


@pytest.mark.parametrize("action, template", [("approve", "approved"), ("reject", "rejected")])
def test_each_decision_email_carries_the_rating_link_in_both_parts(appeal_types, agent, action, template):
    appeal = decided(appeal_types, agent, action=action)
    email = OutboundEmail.objects.get(appeal=appeal, template=template)
    path = rating_path(appeal)
    assert "How did we do? Rate your experience from 1 to 5" in email.body_text
    assert "The rating link works once, for 30 days." in email.body_text
    assert f'href="http://testserver{path}"' in email.body_html and "Rate your experience" in email.body_html


def test_other_emails_carry_no_rating_link(appeal_types, agent):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent)
    agent_services.appeal_request_info(
        appeal=appeal, actor=agent, message="Send the screenshot again.", requested=[("", "id_back_blurred")]
    )
    email = OutboundEmail.objects.get(appeal=appeal, template="request_info")
    assert "/appeals/rate/" not in email.body_text and "/appeals/rate/" not in email.body_html


def test_opening_the_link_shows_the_form_and_stores_nothing(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent)
    before = stored(appeal)
    response = en_client.get(rating_path(appeal))
    page = response.content.decode()
    assert response.status_code == 200
    assert ASK_EN in page and appeal.reference in page and 'data-satisfaction="ask"' in page
    assert page.count('type="radio" name="score"') == 5 and '<textarea class="form-control" name="comment"' in page
    assert stored(appeal) == before


def test_the_page_speaks_the_appellants_language(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent, language="zh-hans")
    page = en_client.get(rating_path(appeal)).content.decode()  # the browser asks for English
    assert "您对我们处理申诉的方式满意吗？" in page and '<html lang="zh-hans"' in page
    # The language switch still wins for this browser.
    en_client.cookies["django_language"] = "en"
    assert ASK_EN in en_client.get(rating_path(appeal)).content.decode()


@pytest.mark.parametrize("action, outcome", [("approve", "approved"), ("reject", "rejected")])
def test_a_rating_is_stored_once_with_the_deciding_agent_and_an_internal_event(en_client, appeal_types, agent, action, outcome):
    appeal = decided(appeal_types, agent, action=action)
    response = en_client.post(rating_path(appeal), {"score": "4", "comment": "  Quick and clear.  "})
    page = response.content.decode()
    assert response.status_code == 200
    assert THANKS_EN in page and "We have your rating of 4 out of 5" in page
    rating = SatisfactionRating.objects.get(appeal=appeal)
    assert (rating.score, rating.comment, rating.agent, rating.outcome, rating.cycle) == (
        4,
        "Quick and clear.",
        agent,
        outcome,
        1,
    )
    assert rating.decision_event.kind == action
    event = AppealEvent.objects.filter(appeal=appeal).latest("pk")
    assert (event.kind, event.public, event.actor_label, event.comment) == (
        "satisfaction",
        False,
        "appellant",
        "4/5: Quick and clear.",
    )


def test_the_comment_is_optional(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent)
    assert en_client.post(rating_path(appeal), {"score": "1"}).status_code == 200
    assert SatisfactionRating.objects.get(appeal=appeal).comment == ""
    assert AppealEvent.objects.filter(appeal=appeal).latest("pk").comment == "1/5"


def test_a_second_use_says_already_rated_and_stores_nothing_more(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent)
    path = rating_path(appeal)
    en_client.post(path, {"score": "5", "comment": "Great."})
    before = stored(appeal)
    for response in (en_client.post(path, {"score": "1", "comment": "Changed my mind."}), en_client.get(path)):
        page = response.content.decode()
        assert response.status_code == 200
        assert ALREADY_EN in page and "nothing more was stored" in page and 'name="score"' not in page
    assert stored(appeal) == before
    assert SatisfactionRating.objects.get(appeal=appeal).score == 5


@pytest.mark.django_db(transaction=True)
def test_two_ratings_sent_at_once_store_one(appeal_types, monkeypatch):
    agent = AgentFactory(username="wang")
    appeal = decided(appeal_types, agent)
    path = rating_path(appeal)
    # Both submissions are held just before "already rated?" until the other gets there too: without the
    # appeal's row lock both would find none and both insert. With it, the second waits for the first's
    # lock, so the first goes on once the meeting times out, and the second finds its rating.
    meeting, check = threading.Barrier(2), satisfaction_services.satisfaction_rating_for

    def check_together(link):
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=2)
        return check(link)

    monkeypatch.setattr(satisfaction_services, "satisfaction_rating_for", check_together)

    def send():
        response = Client(HTTP_ACCEPT_LANGUAGE="en").post(path, {"score": "5"})
        return response.status_code, response.content.decode()

    results = at_once(send, times=2)
    assert len(results) == 2 and all(status == 200 for status, _page in results)
    assert sorted(THANKS_EN in page for _status, page in results) == [False, True]
    assert any(ALREADY_EN in page for _status, page in results)
    assert SatisfactionRating.objects.filter(appeal=appeal).count() == 1
    assert AppealEvent.objects.filter(appeal=appeal, kind="satisfaction").count() == 1


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({}, "score", "Choose a score from 1 to 5."),
        ({"score": "0"}, "score", "Choose a score from 1 to 5."),
        ({"score": "6"}, "score", "Choose a score from 1 to 5."),
        ({"score": "three"}, "score", "Choose a score from 1 to 5."),
        ({"score": "3", "comment": "x" * 1001}, "comment", "Ensure this value has at most 1000 characters"),
    ],
)
def test_a_bad_rating_is_refused_with_a_clear_message_and_nothing_stored(en_client, appeal_types, agent, data, field, message):
    appeal = decided(appeal_types, agent)
    before = stored(appeal)
    response = en_client.post(rating_path(appeal), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(response.context["form"].errors) == [field]
    assert stored(appeal) == before


def test_a_tampered_truncated_or_foreign_link_is_not_valid_and_stores_nothing(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent)
    path = rating_path(appeal)
    token = path.split("/")[-2]
    decision = AppealEvent.objects.get(appeal=appeal, kind="approve")
    claim = AppealEvent.objects.filter(appeal=appeal).exclude(kind="approve").first()
    bad_tokens = (
        token[:-1] + ("A" if token[-1] != "A" else "B"),  # altered signature
        token[:20],  # truncated
        "x",
        signing.dumps({"e": decision.pk, "c": 1}, salt="another-salt", compress=True),  # wrong salt
        tracking_token_make(appeal.reference),  # a tracking link's token
        signing.dumps({"e": 10**9, "c": 1}, salt=SALT, compress=True),  # no such decision
        satisfaction_token_make(decision=claim, cycle=1),  # an event that is no decision
        signing.dumps({"e": str(decision.pk), "c": 1}, salt=SALT, compress=True),  # not our payload
    )
    before = stored(appeal)
    for bad in bad_tokens:
        url = reverse("tickets:rate", args=[bad])
        for response in (en_client.get(url), en_client.post(url, {"score": "5"})):
            assert response.status_code == 404, bad
            page = response.content.decode()
            assert INVALID_EN in page and NOTHING_STORED_EN in page
            assert appeal.reference not in page
    assert stored(appeal) == before


def test_an_expired_link_is_gone_and_stores_nothing(en_client, appeal_types, agent, settings):
    settings.SATISFACTION_LINK_MAX_AGE_DAYS = 30
    t0 = timezone.now()
    with time_machine.travel(t0, tick=False):
        appeal = decided(appeal_types, agent)
    path = rating_path(appeal)
    before = stored(appeal)
    with time_machine.travel(t0 + timedelta(days=30, seconds=1), tick=False):
        for response in (en_client.get(path), en_client.post(path, {"score": "5"})):
            assert response.status_code == 410
            page = response.content.decode()
            assert EXPIRED_EN in page and "Rating links work for 30 days after the decision." in page
            assert NOTHING_STORED_EN in page
    assert stored(appeal) == before
    with time_machine.travel(t0 + timedelta(days=29), tick=False):  # still inside its 30 days
        assert en_client.get(path).status_code == 200


def test_a_reopened_appeal_decided_again_is_rated_again_once_per_cycle(en_client, appeal_types, agent):
    appeal = decided(appeal_types, agent, action="reject")
    first = rating_path(appeal)
    en_client.post(first, {"score": "2"})
    appeal = appeal_reopen(appeal=Appeal.objects.get(pk=appeal.pk), message="Here is the right card.", files=[])
    appeal = agent_services.appeal_claim(appeal=appeal, actor=agent)
    verify_required_evidence(appeal, by=agent)
    appeal = agent_services.appeal_approve(appeal=appeal, actor=agent)
    second = rating_path(appeal)
    assert second != first
    assert ALREADY_EN in en_client.post(first, {"score": "5"}).content.decode()
    assert THANKS_EN in en_client.post(second, {"score": "5"}).content.decode()
    ratings = SatisfactionRating.objects.filter(appeal=appeal).order_by("cycle")
    assert [(r.cycle, r.outcome, r.score) for r in ratings] == [(1, "rejected", 2), (2, "approved", 5)]


def test_the_status_page_offers_rate_this_until_rated(en_client, appeal_types, agent):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent)
    status = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    assert "data-rate-this" not in en_client.get(status).content.decode()  # not decided yet
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_approve(appeal=appeal, actor=agent)
    page = en_client.get(status).content.decode()
    assert "data-rate-this" in page and "Rate this" in page
    link = re.search(r'href="(/appeals/rate/[^"]+/)"', page).group(1)
    assert en_client.post(link, {"score": "3"}).status_code == 200
    assert SatisfactionRating.objects.get(appeal=appeal).score == 3
    assert "data-rate-this" not in en_client.get(status).content.decode()


def test_the_metrics_give_satisfaction_by_agent_type_and_outcome(appeal_types, agent):
    li = AgentFactory(username="li")
    ratings = [
        (agent, "access_card_unbind", "approved", 5),
        (agent, "access_card_unbind", "approved", 4),
        (agent, "phone_rebind", "rejected", 1),
        (li, "access_card_unbind", "rejected", 2),
    ]
    for who, code, outcome, score in ratings:
        appeal = AppealFactory(appeal_type=appeal_types[code], state=outcome)
        SatisfactionRating.objects.create(appeal=appeal, cycle=1, agent=who, outcome=outcome, score=score)
    old = AppealFactory(appeal_type=appeal_types["phone_rebind"], state="approved")  # before the period
    SatisfactionRating.objects.create(
        appeal=old, cycle=1, agent=li, outcome="approved", score=5, created_at=timezone.now() - timedelta(weeks=13)
    )
    s = metrics_compute().satisfaction
    assert s["overall"] == {"count": 4, "average": pytest.approx(3.0), "distribution": [1, 1, 0, 1, 1]}
    by_agent = {r["key"]: (r["count"], r["average"], r["distribution"]) for r in s["by_agent"]}
    assert by_agent == {"wang": (3, pytest.approx(10 / 3), [1, 0, 0, 1, 1]), "li": (1, 2.0, [0, 1, 0, 0, 0])}
    by_type = {r["key"]: (r["count"], r["average"]) for r in s["by_type"]}
    assert by_type == {"access_card_unbind": (3, pytest.approx(11 / 3)), "phone_rebind": (1, 1.0)}
    by_outcome = {r["key"]: (r["count"], r["average"], r["distribution"]) for r in s["by_outcome"]}
    assert by_outcome == {"approved": (2, 4.5, [0, 0, 0, 1, 1]), "rejected": (2, 1.5, [1, 1, 0, 0, 0])}


def test_the_metrics_page_and_csv_show_satisfaction(en_client, appeal_types, agent):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="approved")
    SatisfactionRating.objects.create(appeal=appeal, cycle=1, agent=agent, outcome="approved", score=4)
    en_client.force_login(SupervisorFactory())
    page = en_client.get(reverse("desk:metrics")).content.decode()
    assert 'data-figures="satisfaction"' in page
    for group in ("by_agent", "by_type", "by_outcome"):
        assert f'data-satisfaction-by="{group}"' in page
    assert 'data-row="wang"' in page and 'data-row="access_card_unbind"' in page and 'data-row="approved"' in page
    assert "<strong data-satisfaction-average>4.00</strong>" in page
    rows = list(csv.reader(io.StringIO(en_client.get(reverse("desk:metrics"), {"format": "csv"}).content.decode())))
    assert ["satisfaction", "all count", "", "", "1"] in rows
    assert ["satisfaction_by_agent", "wang average", "", "", "4.0"] in rows
    assert ["satisfaction_by_agent", "wang score 4", "", "", "1"] in rows
    assert ["satisfaction_by_type", "access_card_unbind count", "", "", "1"] in rows
    assert ["satisfaction_by_outcome", "approved score 5", "", "", "0"] in rows


def test_the_admin_shows_ratings_read_only(admin_client, appeal_types, agent):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="approved")
    rating = SatisfactionRating.objects.create(appeal=appeal, cycle=1, agent=agent, outcome="approved", score=4, comment="Fine.")
    listing = admin_client.get(reverse("admin:tickets_satisfactionrating_changelist"))
    assert listing.status_code == 200 and appeal.reference in listing.content.decode()
    change = reverse("admin:tickets_satisfactionrating_change", args=[rating.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and "Fine." in page.content.decode() and 'name="_save"' not in page.content.decode()
    assert admin_client.post(change, {"score": "1", "comment": "Edited."}).status_code == 403
    assert admin_client.get(reverse("admin:tickets_satisfactionrating_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:tickets_satisfactionrating_delete", args=[rating.pk]), {"post": "yes"}).status_code
        == 403
    )
    rating.refresh_from_db()
    assert (rating.score, rating.comment) == (4, "Fine.")

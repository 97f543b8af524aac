"""The appellant rates a decision on a phone (390×844, zh-CN), from the decision e-mail's link: the form
fits the screen, a tap picks the score, the thanks page follows; the link used again says it was
already rated; the status page's "Rate this" is gone. Also without JavaScript. Any console error,
failed request or CSP violation fails the test."""

import re

import pytest
from django.urls import reverse

from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, verify_required_evidence
from tickets.models import OutboundEmail, SatisfactionRating
from tickets.services.agent import appeal_approve, appeal_reject
from tickets.tracking import tracking_token_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rating_path(appeal) -> str:
    email = OutboundEmail.objects.filter(appeal=appeal, template__in=("approved", "rejected")).latest("pk")
    return re.search(r"http://testserver(/appeals/rate/\S+/)", email.body_text).group(1)


def test_the_appellant_rates_the_decision_on_a_phone(live_server, watched, appeal_types, screenshot):
    agent = AgentFactory(username="agent_rate")
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent, language="zh-hans")
    verify_required_evidence(appeal, by=agent)
    appeal_approve(appeal=appeal, actor=agent, comment="请在钱包中移除该门禁卡。")
    page = watched.page

    # The status page offers the rating while it is not given.
    status = live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    page.goto(status)
    assert page.get_by_role("link", name=zh("Rate this")).is_visible()

    page.goto(live_server.url + rating_path(appeal))
    card = page.locator("[data-satisfaction=ask]")
    assert zh("How satisfied are you with how we handled your appeal?") in card.inner_text()
    assert appeal.reference in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    labels = page.locator("[data-satisfaction=ask] label.btn")
    assert labels.count() == 5 and all(labels.nth(i).bounding_box()["height"] >= 44 for i in range(5))  # thumb-sized
    page.locator("label.btn", has_text="4").click()
    page.locator("textarea[name=comment]").fill("处理很快，说明清楚。")
    screenshot(page, "satisfaction-01-phone-form")
    page.get_by_role("button", name=zh("Send my rating")).click()
    page.wait_for_load_state()
    assert zh("Thank you for your rating") in page.locator("[data-satisfaction=thanks]").inner_text()
    screenshot(page, "satisfaction-02-phone-thanks")
    rating = SatisfactionRating.objects.get(appeal=appeal)
    assert (rating.score, rating.comment, rating.agent) == (4, "处理很快，说明清楚。", agent)

    # The same link again: already rated, and nothing more stored.
    page.goto(live_server.url + rating_path(appeal))
    assert zh("Already rated: thank you") in page.locator("[data-satisfaction=already]").inner_text()
    screenshot(page, "satisfaction-03-phone-already")
    page.goto(status)
    assert page.get_by_role("link", name=zh("Rate this")).count() == 0
    assert SatisfactionRating.objects.filter(appeal=appeal).count() == 1


def test_the_rating_works_without_javascript(live_server, browser, appeal_types, reason_codes, screenshot):
    agent = AgentFactory(username="agent_rate_nojs")
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent, language="zh-hans")
    appeal_reject(appeal=appeal, actor=agent, reason="截图中的门禁卡不是同一张。", reason_code="holder_mismatch")
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    page.goto(live_server.url + rating_path(appeal))
    page.locator("label.btn", has_text="2").click()
    page.get_by_role("button", name=zh("Send my rating")).click()
    page.wait_for_load_state()
    assert zh("Thank you for your rating") in page.locator("[data-satisfaction=thanks]").inner_text()
    screenshot(page, "satisfaction-04-no-javascript-thanks")
    rating = SatisfactionRating.objects.get(appeal=appeal)
    assert (rating.score, rating.outcome) == (2, "rejected")
    context.close()

"""The console on a desktop, in Chinese, as an agent sees it: the queue with an answered appeal first
and staff words for states; an appeal page after an action, with fingerprints folded and a fraud signal
that names the closest appeals. Any console error, failed request or CSP violation fails the test."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.processing import evidence_process
from tests.browser.conftest import staff_signed_in
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_works_the_queue_and_an_appeal_on_a_desktop(live_server, browser, appeal_types, screenshot):
    agent = AgentFactory(username="agent_desk")
    now = timezone.now()
    for hours in (5, 20, 40):
        AppealFactory(state="in_review", assignee=agent, sla_due_at=now + timedelta(hours=hours))
    AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=now, sla_due_at=now + timedelta(hours=30))
    answered = AppealFactory(state="in_review", assignee=agent, answered_at=now, sla_due_at=now + timedelta(hours=60))
    appeal = AppealFactory(id_number_hmac="e" * 64)
    for hours in range(1, 9):
        AppealFactory(id_number_hmac="e" * 64, created_at=now - timedelta(hours=hours))
    photo = EvidenceFactory(appeal=appeal, status="pending")
    evidence_process(evidence_id=photo.pk)

    watched = staff_signed_in(browser, live_server, agent, locale="zh-CN")
    page = watched.page

    page.goto(f"{live_server.url}{reverse('desk:queue')}?queue=mine")
    rows = page.locator("tbody tr[data-appeal]")
    assert rows.first.get_attribute("data-appeal") == answered.reference
    assert rows.first.locator("[data-answered]").is_visible()
    assert page.locator("tbody").get_by_text("等待申诉人补充").is_visible()
    assert page.locator("footer").count() == 0
    screenshot(page, "console-01-queue-mine")

    page.goto(f"{live_server.url}{reverse('desk:appeal', args=[appeal.reference])}")
    page.locator("form[data-action=claim] button").click()
    page.wait_for_load_state()
    assert page.get_by_text(f"{appeal.reference}：已认领。").is_visible()
    signal = page.locator("[data-signal=same_id_number]")
    assert signal.locator("a").count() == 3 and "等另外 5 个" in signal.inner_text()
    fingerprints = page.locator("[data-fingerprints]")
    assert fingerprints.get_attribute("open") is None
    assert not fingerprints.get_by_text("SHA-256").is_visible()
    screenshot(page, "console-02-appeal")
    fingerprints.locator("summary").click()
    assert fingerprints.get_by_text("SHA-256").is_visible()
    watched.check()
    watched.page.context.close()

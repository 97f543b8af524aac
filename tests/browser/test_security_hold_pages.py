"""The security hold as its three people see it, in Chinese: the appellant's status page on a phone says
when the approval takes effect and why it waits; the account's owner opens the notice's link on a phone,
reads what was asked and stops it with one button; the supervisor's console shows the takeover flag,
the hold and the owner's objection. Any console error, failed request or CSP violation fails the test."""

import pytest
from django.urls import reverse

from tests.browser.conftest import staff_signed_in
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.models import HoldNotice
from tickets.services.agent import appeal_propose_approval, appeal_second_approve
from tickets.services.hold import objection_token_make
from tickets.tracking import tracking_token_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
OWNER = "zhang.wei@example.com"


def test_the_hold_on_the_status_page_the_owners_objection_and_the_console(
    live_server, watched, browser, appeal_types, screenshot
):
    agent, supervisor = AgentFactory(username="agent_hold"), SupervisorFactory(username="supervisor_hold")
    appeal = AppealFactory(
        language="zh-hans",
        state="in_review",
        assignee=agent,
        account_identifier="zhangwei_2018",
        registered_contacts=[{"kind": "email", "value": OWNER}, {"kind": "phone", "value": "13800138000"}],
    )
    verify_required_evidence(appeal, by=agent)
    appeal_propose_approval(appeal=appeal, actor=agent, code_matches=True)
    appeal_second_approve(appeal=appeal, actor=supervisor, code_matches=True, comment="已核实身份。")
    notice = HoldNotice.objects.get(appeal=appeal, value=OWNER)

    # The appellant's status page: approved, takes effect at the hold's end, and why it waits.
    page = watched.page
    page.goto(live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    held = page.locator("[data-fulfilment=held]")
    assert "安全冻结期" in held.inner_text() and "您无需任何操作" in held.inner_text()
    screenshot(page, "hold-01-status-held")

    # The owner's link: what was asked, the account masked, one button.
    owner = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    owner_page = owner.new_page()
    owner_page.goto(live_server.url + reverse("tickets:hold_objection", args=[objection_token_make(notice)]))
    card = owner_page.locator("[data-objection=ask]")
    assert "这是您本人申请的吗？" in card.inner_text() and "zhangwei_2018" not in card.inner_text()
    screenshot(owner_page, "hold-02-objection-asked")
    owner_page.locator("textarea[name=note]").fill("我没有申请过解绑。")
    owner_page.get_by_role("button", name="不是我本人：阻止它").click()
    owner_page.wait_for_load_state()
    assert "已阻止。谢谢您。" in owner_page.locator("[data-objection=stopped]").inner_text()
    screenshot(owner_page, "hold-03-objection-stopped")

    # The supervisor's console: the flag, the hold and who objected.
    console = staff_signed_in(browser, live_server, supervisor, locale="zh-CN")
    console.page.goto(f"{live_server.url}{reverse('desk:appeal', args=[appeal.reference])}")
    assert console.page.locator("[data-takeover]").first.is_visible()
    hold = console.page.locator("#security-hold")
    assert OWNER in hold.inner_text() and "我没有申请过解绑。" in hold.inner_text()
    assert "13800138000" in hold.inner_text()  # a phone contact: listed, not told (no SMS yet)
    screenshot(console.page, "hold-04-console-appeal")
    console.page.goto(f"{live_server.url}{reverse('desk:queue')}?queue=escalated")
    assert console.page.locator(f"tr[data-appeal='{appeal.reference}'] [data-takeover]").is_visible()
    screenshot(console.page, "hold-05-console-queue")
    console.check()
    owner.close()

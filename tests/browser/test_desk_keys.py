"""The console from the keyboard: canned replies picked with "/" and inserted filled for the appeal, the
"?" help dialog, j / k and Enter on the queue, ] and [ between the queue's appeals, r and c on an appeal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import staff_signed_in
from tests.browser.test_accessibility import serious_violations
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import CannedReply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_slash_in_an_empty_reply_box_then_the_keyboard_inserts_a_filled_canned_reply(
    browser, live_server, appeal_types, screenshot
):
    agent = AgentFactory(username="ann")
    appeal = AppealFactory(state="in_review", assignee=agent, language="en", account_identifier="wei_99")
    CannedReply.objects.create(title="Blurred ID back", language="en", body="Dear {name}, the ID back of {reference} is blurred.")
    CannedReply.objects.create(title="Thanks", language="en", body="Thank you, {name}.")
    CannedReply.objects.create(title="请补充", language="zh-hans", body="{name} 您好")
    page = staff_signed_in(browser, live_server, agent).page
    page.goto(f"{live_server.url}/desk/appeals/{appeal.reference}/")
    assert page.locator("[data-canned-open]").is_visible()

    page.keyboard.press("r")
    assert page.evaluate("document.activeElement.id") == "id_text"
    page.keyboard.press("/")
    panel = page.locator("[data-canned-panel]")
    panel.wait_for(state="visible")
    assert page.evaluate("document.activeElement.id") == "canned-filter"
    assert page.locator("[data-canned-option]").all_inner_texts() == [
        f"Blurred ID back\nDear wei_99, the ID back of {appeal.reference} is blurred.",
        "Thanks\nThank you, wei_99.",
    ]  # English only: the appeal's language
    page.keyboard.type("than")
    assert page.locator("[data-canned-option]").count() == 1
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    screenshot(page, "desk-canned-replies-picker")
    page.keyboard.press("Enter")
    assert panel.is_hidden()
    assert page.input_value("#id_text") == f"Dear wei_99, the ID back of {appeal.reference} is blurred."
    assert page.evaluate("document.activeElement.id") == "id_text"
    assert page.url.endswith(f"/desk/appeals/{appeal.reference}/")  # Enter did not send the form

    # "/" in a box with text is just a slash; Esc closes the list without inserting anything.
    page.keyboard.type(" a/b")
    assert page.input_value("#id_text").endswith(" a/b") and panel.is_hidden()
    page.fill("#id_text", "")
    page.keyboard.press("/")
    panel.wait_for(state="visible")
    page.keyboard.press("Escape")
    assert panel.is_hidden() and page.input_value("#id_text") == ""
    assert page.evaluate("document.activeElement.id") == "id_text"


def test_question_mark_opens_the_help_dialog_and_escape_closes_it(browser, live_server, appeal_types, screenshot):
    page = staff_signed_in(browser, live_server, AgentFactory()).page
    appeal = AppealFactory()
    page.goto(f"{live_server.url}/desk/")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    assert help_dialog.is_hidden()
    page.keyboard.press("j")  # the focus is on the first appeal's link
    page.keyboard.press("?")
    help_dialog.wait_for(state="visible")
    assert page.evaluate("document.activeElement.hasAttribute('data-shortcuts-close')")
    assert "claim it" in help_dialog.inner_text()
    screenshot(page, "desk-shortcuts-help")
    page.keyboard.press("j")  # the dialog is modal: no shortcut behind it
    assert page.evaluate("document.activeElement.hasAttribute('data-shortcuts-close')")
    page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")
    # The focus goes back where it was.
    page.wait_for_function(f"() => document.activeElement.textContent === '{appeal.reference}'")

    # Typed into the search box, "?" is a question mark.
    page.click("#id_q")
    page.keyboard.type("?")
    assert help_dialog.is_hidden() and page.input_value("#id_q") == "?"


def test_j_k_and_enter_open_an_appeal_then_brackets_follow_the_queue_and_c_claims(browser, live_server, appeal_types, screenshot):
    now = timezone.now()
    first, second, third = (AppealFactory(sla_due_at=now + timedelta(hours=hours)) for hours in (1, 2, 3))
    page = staff_signed_in(browser, live_server, AgentFactory(username="kim")).page
    page.goto(f"{live_server.url}/desk/?queue=open")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert page.evaluate("document.activeElement.textContent") == second.reference
    assert page.locator("tr.table-active").get_attribute("data-appeal") == second.reference
    screenshot(page, "desk-queue-j-k")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/appeals/{second.reference}/")

    page.keyboard.press("]")
    page.wait_for_url(f"**/desk/appeals/{third.reference}/")
    page.keyboard.press("]")  # the last one: said, and stays
    status = page.locator("[data-shortcuts-status]")
    page.wait_for_function("() => document.querySelector('[data-shortcuts-status]').textContent !== ''")
    assert status.text_content() == "This is the last appeal of the queue page you opened it from."
    assert page.url.endswith(f"/desk/appeals/{third.reference}/")
    page.keyboard.press("[")
    page.wait_for_url(f"**/desk/appeals/{second.reference}/")
    page.keyboard.press("[")
    page.wait_for_url(f"**/desk/appeals/{first.reference}/")

    page.keyboard.press("c")
    page.wait_for_selector("text=claimed")
    first.refresh_from_db()
    assert first.state == "in_review" and first.assignee.username == "kim"
    # After the claim's redirect the queue's order is still known.
    page.keyboard.press("]")
    page.wait_for_url(f"**/desk/appeals/{second.reference}/")


def test_v_goes_from_one_file_to_verify_to_the_next_and_enter_verifies_it(browser, live_server, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    front = EvidenceFactory(appeal=appeal, kind="id_front")
    back = EvidenceFactory(appeal=appeal, kind="id_back")
    page = staff_signed_in(browser, live_server, agent).page
    page.goto(f"{live_server.url}/desk/appeals/{appeal.reference}/")
    mark = "document.activeElement.form && document.activeElement.form.action"
    page.keyboard.press("v")
    assert page.evaluate(mark).endswith(f"/evidence/{front.pk}/verify/")
    page.keyboard.press("v")
    assert page.evaluate(mark).endswith(f"/evidence/{back.pk}/verify/")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-verified=yes]")
    back.refresh_from_db()
    front.refresh_from_db()
    assert back.verified_at is not None and front.verified_at is None
    page.keyboard.press("v")  # the one left
    assert page.evaluate(mark).endswith(f"/evidence/{front.pk}/verify/")


def test_in_chinese_the_picker_and_the_help_have_no_serious_accessibility_violations(
    browser, live_server, appeal_types, screenshot
):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent, language="zh-hans", account_identifier="李雷")
    CannedReply.objects.create(
        title="身份证背面模糊", language="zh-hans", body="{name} 您好，申诉 {reference} 的身份证背面不清晰。"
    )
    CannedReply.objects.create(title="English only", language="en", body="Dear {name}.")
    # axe-core is injected as a script: a context that bypasses the CSP, as tests/browser/test_accessibility.py does.
    page = staff_signed_in(browser, live_server, agent, locale="zh-CN", bypass_csp=True).page
    page.goto(f"{live_server.url}/desk/appeals/{appeal.reference}/")
    page.click("#id_text")
    page.keyboard.press("/")
    page.locator("[data-canned-panel]").wait_for(state="visible")
    assert page.locator("[data-canned-option]").all_inner_texts() == [
        f"身份证背面模糊\n李雷 您好，申诉 {appeal.reference} 的身份证背面不清晰。"
    ]
    assert page.locator("label[for=canned-filter]").inner_text() == "申诉人所用语言的预设回复"
    screenshot(page, "desk-canned-replies-picker-zh")
    assert serious_violations(page) == []
    page.keyboard.press("Enter")
    assert page.input_value("#id_text") == f"李雷 您好，申诉 {appeal.reference} 的身份证背面不清晰。"
    page.click("h1")
    page.keyboard.press("?")
    page.get_by_role("dialog", name="键盘快捷键").wait_for(state="visible")
    screenshot(page, "desk-shortcuts-help-zh")
    assert serious_violations(page) == []
    page.keyboard.press("Escape")

"""Accessibility basics in a real browser: axe-core (from the npm registry, loaded from our own copy)
finds no serious violations on the main pages; the form and the console work from the keyboard;
errors are announced."""

from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests import files
from tests.browser.conftest import second_step_passed
from tests.conftest import one_recovery_code
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.portal.views import SUBMITTED_SESSION_KEY
from tickets.tracking import tracking_token_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def checked_phone(browser):
    """A phone page into which axe-core may be injected (our CSP rightly forbids inline scripts)."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN", bypass_csp=True
    )
    yield context.new_page()
    context.close()


@pytest.fixture
def staff_page(browser, live_server):
    def open_as(user):
        user.set_password("a-long-demo-password-42")
        user.save()
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN", bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("[name=username]", user.username)
        page.fill("[name=password]", "a-long-demo-password-42")
        code = one_recovery_code(user)
        page.click("main button[type=submit]")
        second_step_passed(page, code)
        return page

    return open_as


def test_public_pages_have_no_serious_accessibility_violations(checked_phone, live_server, appeal_types):
    appeal = AppealFactory(state="awaiting_info")
    # The confirmation page is shown only to the browser that filed the appeal: be that browser.
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SUBMITTED_SESSION_KEY] = [appeal.reference]
    session.create()
    checked_phone.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session.session_key, "url": live_server.url}]
    )
    pages = [
        "/",
        "/appeals/new/account_recovery/",
        "/appeals/new/emergency_freeze/",
        "/appeals/track/",
        f"/appeals/submitted/{appeal.reference}/",
        f"/appeals/status/{tracking_token_make(appeal.reference)}/",
        "/accounts/login/",
    ]
    problems = {}
    for path in pages:
        assert checked_phone.goto(live_server.url + path).status == 200, path
        found = serious_violations(checked_phone)
        if found:
            problems[path] = found
    assert problems == {}


def test_console_pages_have_no_serious_accessibility_violations(staff_page, live_server, appeal_types):
    appeal = AppealFactory(state="in_review")
    EvidenceFactory(appeal=appeal)
    page = staff_page(SupervisorFactory(username="sup_a11y"))
    problems = {}
    for path in ("/desk/", f"/desk/appeals/{appeal.reference}/", "/desk/metrics/"):
        page.goto(live_server.url + path)
        found = serious_violations(page)
        if found:
            problems[path] = found
    assert problems == {}


def test_the_assignment_pages_work_without_serious_violations(staff_page, live_server, appeal_types):
    """The supervisors' load page, and an agent switching themselves on duty from the keyboard (zh-CN)."""
    from tickets.models import AgentProfile

    agent = AgentFactory(username="agent_duty")
    AgentProfile.objects.create(user=agent, on_duty=False, capacity=4)
    AppealFactory(state="in_review", assignee=agent)
    page = staff_page(SupervisorFactory(username="sup_load"))
    page.goto(f"{live_server.url}/desk/load/")
    assert page.locator("[data-agent=agent_duty] [data-on-duty='0']").is_visible()
    assert serious_violations(page) == []
    page = staff_page(agent)
    page.goto(f"{live_server.url}/desk/availability/")
    assert serious_violations(page) == []
    tab_to(page, "[data-set-duty='1']")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("[data-availability] [data-on-duty='1']").is_visible()
    assert "您已在岗" in page.content()
    assert AgentProfile.objects.get(user=agent).on_duty is True
    assert serious_violations(page) == []


def test_the_evidence_reason_form_works_from_the_keyboard_without_serious_violations(staff_page, live_server, appeal_types):
    """Need-to-know: an agent who does not hold the appeal states a reason, keyboard only, then sees the files."""
    appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    photo = EvidenceFactory(appeal=appeal)
    page = staff_page(AgentFactory(username="agent_reason"))
    page.goto(f"{live_server.url}/desk/appeals/{appeal.reference}/")
    assert page.locator("[data-evidence-reason-form]").is_visible()
    assert serious_violations(page) == []
    tab_to(page, "#evidence-reason")
    page.keyboard.type("核对重复举报")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("[data-evidence-reason-until]").is_visible()
    assert page.locator(f"#evidence a[href='/evidence/{photo.pk}/']").count() == 1
    assert serious_violations(page) == []


def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching `selector` has the focus (reachable by keyboard)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def open_file_chooser_with_keyboard(page):
    """Space on a focused file input opens the chooser; if the browser dropped that activation
    (seen once under load in headless Chromium), Enter, as a keyboard user would press next."""
    for key, timeout in (("Space", 5_000), ("Enter", 20_000)):
        try:
            with page.expect_file_chooser(timeout=timeout) as chooser:
                page.keyboard.press(key)
            return chooser.value
        except PlaywrightTimeoutError:
            assert page.evaluate("() => document.activeElement.type") == "file"
    raise AssertionError("the file chooser did not open from the keyboard")


def test_an_appeal_can_be_filed_with_the_keyboard_alone(phone, live_server, appeal_types, tmp_path):
    screenshot_file = tmp_path / "card.jpg"
    screenshot_file.write_bytes(files.photo_bytes(800, 600))
    page = phone
    page.goto(f"{live_server.url}/")
    tab_to(page, "a[href='/appeals/new/access_card_unbind/']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/appeals/new/access_card_unbind/")
    for name, value in (
        ("contact_email", "kb@example.com"),
        ("account_identifier", "kb_user"),
        ("device_model", "iPhone 15"),
        ("letter_background", "The card cannot be removed."),
        ("letter_steps_taken", "Tried to remove it."),
        ("letter_request", "Remove the card."),
    ):
        tab_to(page, f"[name={name}]")
        page.keyboard.type(value)
    tab_to(page, "[name=evidence_screenshot]")
    open_file_chooser_with_keyboard(page).set_files(str(screenshot_file))
    tab_to(page, "#appeal-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/appeals/submitted/**", timeout=60_000)


def test_errors_are_announced_and_a_refused_file_is_retried_alone(phone, live_server, appeal_types, tmp_path, browser_problems):
    good, bad = tmp_path / "card.jpg", tmp_path / "card-copy.jpg"
    good.write_bytes(files.photo_bytes(800, 600))
    bad.write_bytes(files.elf_executable_bytes())  # a program renamed .jpg: only the server can tell
    page = phone
    page.goto(f"{live_server.url}/appeals/new/access_card_unbind/")
    for name, value in (
        ("contact_email", "retry@example.com"),
        ("account_identifier", "retry_user"),
        ("device_model", "Pixel 9"),
        ("letter_background", "x"),
        ("letter_steps_taken", "y"),
        ("letter_request", "z"),
    ):
        page.fill(f"[name={name}]", value)
    page.set_input_files("[name=evidence_screenshot]", str(bad))
    browser_problems.expect(400, "/appeals/new/access_card_unbind/")  # the refusal this test causes
    page.click("#appeal-form button[type=submit]")
    errors = page.locator("[data-errors-for=evidence_screenshot]")
    errors.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('[data-errors-for=evidence_screenshot]').textContent.trim() !== ''")
    assert errors.get_attribute("aria-live") == "polite"
    assert page.locator("[data-form-errors]").get_attribute("role") == "alert"
    assert page.input_value("[name=contact_email]") == "retry@example.com"  # nothing else was lost
    page.set_input_files("[name=evidence_screenshot]", str(good))  # replace only the refused file
    page.click("#appeal-form button[type=submit]")
    page.wait_for_url("**/appeals/submitted/**", timeout=60_000)


def test_client_side_checks_stop_an_oversized_file_before_upload(phone, live_server, appeal_types, tmp_path):
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024 + 10))
    page = phone
    page.goto(f"{live_server.url}/appeals/new/access_card_unbind/")
    page.set_input_files("[name=evidence_screenshot]", str(big))
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" else None)
    page.click("#appeal-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('[data-errors-for=evidence_screenshot]').textContent.includes('huge.jpg')"
    )
    assert requests == []  # refused in the browser, nothing sent


def test_console_main_actions_work_from_the_keyboard(staff_page, live_server, appeal_types, reason_codes):
    appeal = AppealFactory()
    page = staff_page(AgentFactory(username="agent_kb"))
    page.goto(f"{live_server.url}/desk/appeals/{appeal.reference}/")
    tab_to(page, "form[data-action=claim] button")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-state=in_review]")
    tab_to(page, "form[data-action=request_info] #request-reason-1")
    page.keyboard.press("ArrowDown")  # the first reason the list offers
    tab_to(page, "form[data-action=request_info] textarea")
    page.keyboard.type("请补充材料。")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-state=awaiting_info]")

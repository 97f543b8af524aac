"""The appellant on a phone (390×844, zh-CN): the landing page, a quick emergency freeze, a compact form."""

import time

import pytest

from tests.browser.conftest import Watched
from tests.text import zh
from tickets.models import Appeal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KEY_DELAY_MS = 50  # a quick but human typist
FORM_HEIGHT_BEFORE = 4773  # the account_recovery form on this phone before it was made compact


def test_an_emergency_freeze_is_filed_in_under_a_minute_of_typing(live_server, watched, appeal_types, screenshot):
    page = watched.page
    started = time.monotonic()
    page.goto(live_server.url + "/")
    track = page.get_by_role("link", name=zh("Track an appeal"))
    assert track.is_visible() and track.bounding_box()["y"] < 100  # in the header, on the first screen
    assert page.get_by_role("link", name=zh("Already filed an appeal? Track it here.")).is_visible()
    screenshot(page, "phone-landing")

    page.get_by_role("link", name="提交申诉：紧急冻结账户").click()
    page.wait_for_url("**/appeals/new/emergency_freeze/")
    for name, value in (
        ("contact_email", "zhang.wei@example.com"),
        ("account_identifier", "zhangwei_88"),
        ("registered_phone", "13800138000"),
        ("id_number", "002X"),
        ("letter_background", "收到陌生手机的登录提醒"),
    ):
        page.type(f"[name='{name}']", value, delay=KEY_DELAY_MS)
    screenshot(page, "phone-freeze-form")
    page.get_by_role("button", name=zh("Send my appeal")).click()
    page.wait_for_url("**/appeals/submitted/**", timeout=30_000)
    elapsed = time.monotonic() - started

    appeal = Appeal.objects.get()
    assert page.locator("[data-reference]").inner_text().strip() == appeal.reference
    assert appeal.appeal_type.code == "emergency_freeze"
    assert (appeal.registered_phone, appeal.id_number_last4) == ("13800138000", "002X")
    assert appeal.letter_background == "收到陌生手机的登录提醒"
    assert elapsed < 60, f"filing a freeze took {elapsed:.1f} s"
    screenshot(page, "phone-freeze-submitted")
    watched.check()


def test_the_recovery_form_is_at_most_two_thirds_of_its_old_height(live_server, watched, appeal_types, screenshot):
    page = watched.page
    page.goto(live_server.url + "/appeals/new/account_recovery/")
    height = page.evaluate("document.body.scrollHeight")
    screenshot(page, "phone-recovery-form")
    assert height <= FORM_HEIGHT_BEFORE * 2 // 3, f"the form is {height} px tall"

    # A touch screen is told to tap, not to drag; a single record row offers no removal.
    zone = page.locator("[data-dropzone]:has([name=evidence_id_front])")
    assert zone.get_by_text(zh("Tap to choose files or take a photo.")).is_visible()
    assert not zone.get_by_text(zh("You can also drop files here.")).is_visible()
    assert page.get_by_text(zh("Remove this row")).count() == 0
    page.get_by_role("button", name=zh("Add a recharge record")).click()
    assert page.locator("[name='recharge-1-DELETE']").is_visible()
    assert page.locator("[name='recharge-0-DELETE']").count() == 0
    watched.check()


def test_a_desktop_pointer_is_told_it_can_drop_files(live_server, browser, appeal_types):
    watched = Watched(browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN"))
    page = watched.page
    page.goto(live_server.url + "/appeals/new/account_recovery/")
    zone = page.locator("[data-dropzone]:has([name=evidence_id_front])")
    assert zone.get_by_text(zh("You can also drop files here.")).is_visible()
    assert not zone.get_by_text(zh("Tap to choose files or take a photo.")).is_visible()
    watched.check()
    page.context.close()

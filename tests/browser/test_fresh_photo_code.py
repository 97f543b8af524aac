"""The fresh-photo code on a phone (390×844, zh-CN): shown beside the handheld-photo upload, with the
instruction, readable, inside the screen, and no console error."""

import pytest

from tests import files
from tests.text import zh
from tests.tickets.factories import VALID_ID_NUMBER
from tickets.fresh_photo import fresh_photo_code_issue, fresh_photo_code_read
from tickets.models import Appeal, AppealType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_form_shows_the_code_beside_the_handheld_upload_on_a_phone(live_server, watched, appeal_types, screenshot):
    page = watched.page
    page.goto(live_server.url + "/appeals/new/realname_unbind/")
    shown = page.locator("[data-fresh-photo-code]")
    code = shown.inner_text().strip()
    token = page.locator("input[name=fresh_photo_token]").input_value()
    assert fresh_photo_code_read(token=token, appeal_type=AppealType.objects.get(code="realname_unbind")) == code
    box = page.locator("[data-fresh-photo]")
    box.scroll_into_view_if_needed()
    assert shown.is_visible()
    instruction = zh("Write this code on paper and hold it with your ID card in the photo. An older photo is not accepted.")
    assert page.get_by_text(instruction).is_visible()

    # Right above the handheld-photo input, within the phone's width, in large type.
    code_box, upload = box.bounding_box(), page.locator("[data-dropzone]:has([name=evidence_id_handheld])").bounding_box()
    assert 0 <= upload["y"] - (code_box["y"] + code_box["height"]) < 80
    assert code_box["x"] >= 0 and code_box["x"] + code_box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert float(shown.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 24  # larger than the text
    box.screenshot(path=str(screenshot(page, "phone-fresh-photo-code-form").with_name("phone-fresh-photo-code.png")))
    watched.check()


def test_a_refused_code_is_replaced_in_place_and_the_appeal_then_goes_through(
    live_server, watched, appeal_types, screenshot, tmp_path
):
    """The upload script keeps the page: a refused code comes back with a new one, shown where the old was."""
    page = watched.page
    page.goto(live_server.url + "/appeals/new/realname_unbind/")
    for name, value in {
        "contact_email": "zhao.lei@example.com",
        "account_identifier": "zhaolei_2020",
        "registered_phone": "13800138000",
        "id_number": VALID_ID_NUMBER,
        "letter_background": "自助解绑一直提示“解绑无效”。",
        "letter_steps_taken": "自助解绑三次。",
        "letter_request": "请解除实名认证。",
    }.items():
        page.fill(f"[name='{name}']", value)
    page.check("[name=consent_id_images]")
    for index, kind in enumerate(("id_front", "id_back", "id_handheld"), start=1):
        photo = tmp_path / f"{kind}.jpg"
        photo.write_bytes(files.photo_bytes(800, 600, seed=index))
        page.set_input_files(f"[name=evidence_{kind}]", str(photo))
    old_code = page.locator("[data-fresh-photo-code]").inner_text().strip()
    # A token from another form (here: another type's), as a replayed old page would carry.
    other = fresh_photo_code_issue(appeal_type=AppealType.objects.get(code="account_recovery")).token
    page.locator("input[name=fresh_photo_token]").evaluate("(el, token) => { el.value = token; }", other)
    page.get_by_role("button", name=zh("Send my appeal")).click()

    error = page.locator("[data-errors-for=fresh_photo_token]")
    error.wait_for(state="visible")
    page.wait_for_function("document.querySelector('[data-errors-for=fresh_photo_token]').textContent.trim() !== ''")
    other_form = "This photo code was issued for another form. Use the code shown on this form and take the photo again."
    assert zh(other_form) in error.inner_text()
    new_code = page.locator("[data-fresh-photo-code]").inner_text().strip()
    assert new_code != old_code
    assert Appeal.objects.count() == 0
    screenshot(page, "phone-fresh-photo-code-refused")

    page.get_by_role("button", name=zh("Send my appeal")).click()  # the photo now shows the new code
    page.wait_for_url("**/appeals/submitted/**", timeout=30_000)
    assert Appeal.objects.get().fresh_photo_code == new_code
    watched.check(expected=((400, "/appeals/new/realname_unbind/"),))  # the refusal this test causes

"""The fresh-photo code on a phone (390×844, zh-CN): shown beside the handheld-photo upload, with the
instruction, readable, inside the screen, and no console error."""

import pytest

from tests.text import zh
from tickets.fresh_photo import fresh_photo_code_read
from tickets.models import AppealType

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

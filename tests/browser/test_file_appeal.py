"""An appellant on a phone files an appeal with real photos."""

import pytest

from evidence.models import Evidence
from tests import files
from tests.browser.conftest import preview_widths
from tests.text import zh
from tests.tickets.factories import VALID_ID_NUMBER
from tickets.models import Appeal, OutboundEmail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_appellant_files_an_appeal_on_a_phone(live_server, phone, appeal_types, tmp_path, screenshot):
    photos = {}
    for index, kind in enumerate(("id_front", "id_back", "id_handheld"), start=1):
        path = tmp_path / f"{kind}.jpg"
        path.write_bytes(files.photo_bytes(2400, 1600, seed=index))
        photos[kind] = path

    page = phone
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "01-home-phone")

    page.locator("a[href='/appeals/new/account_recovery/']").click()
    fields = {
        "contact_email": "zhang.wei@example.com",
        "contact_phone": "13800138000",
        "account_identifier": "zhangwei_88",
        "registered_phone": "13800138000",
        "id_number": VALID_ID_NUMBER,
        "letter_background": "2026年11月1日起，自助解绑提示“解绑无效”。",
        "letter_steps_taken": "自助解绑两次，联系在线客服一次。",
        "letter_request": "请恢复我对账户的控制权。",
        "recharge-0-order_number": "TX20261101001",
        "recharge-0-amount": "68.00",
        "recharge-0-paid_at": "2026-11-01T20:15",
        "recharge-0-product": "月卡",
    }
    for name, value in fields.items():
        page.fill(f"[name='{name}']", value)
    page.get_by_role("button", name=zh("Add a recharge record")).click()  # a row added by the page's script
    added = {
        "recharge-1-order_number": "TX20261015007",
        "recharge-1-amount": "30",
        "recharge-1-paid_at": "2026-10-15T09:30",
        "device-0-seen_at": "2026-10-30T08:00",
        "device-0-ip_address": "203.0.113.7",
        "device-0-device_model": "iPhone 15",
    }
    for name, value in added.items():
        page.fill(f"[name='{name}']", value)

    page.check("[name=consent_id_images]")
    for kind, path in photos.items():
        page.set_input_files(f"[name=evidence_{kind}]", str(path))
    widths = preview_widths(page)
    assert len(widths) == 3 and all(width > 0 for width in widths), "a preview did not render"
    screenshot(page, "02-form-filled-phone")

    page.get_by_role("button", name=zh("Send my appeal")).click()
    page.wait_for_url("**/appeals/submitted/**", timeout=30_000)

    appeal = Appeal.objects.get()
    reference = page.locator("[data-reference]").inner_text().strip()
    assert reference == appeal.reference
    assert zh("We have received your appeal") in page.content()
    screenshot(page, "03-submitted-phone")

    assert appeal.recharge_records.count() == 2
    assert appeal.device_records.count() == 1
    assert set(Evidence.objects.values_list("kind", flat=True)) == {"id_front", "id_back", "id_handheld"}
    assert appeal.language == "zh-hans"
    assert OutboundEmail.objects.filter(appeal=appeal, template="acknowledgement").count() == 1


def test_the_page_refuses_a_file_outside_the_inputs_accept_and_takes_one_inside(
    live_server, phone, appeal_types, browser_problems
):
    """The page's script checks chosen files against the input's `accept` attribute (built by the server
    from what it accepts), not a list of its own."""
    page = phone
    path = "/appeals/new/account_recovery/"
    page.goto(live_server.url + path)
    field = page.locator("[name=evidence_id_front]")
    errors = page.locator("[data-errors-for=evidence_id_front]")
    browser_problems.expect(400, path)  # the form is sent once with only the file filled in: the server refuses the rest
    posts = []
    page.on("request", lambda request: posts.append(request) if request.method == "POST" else None)

    field.set_input_files({"name": "card.gif", "mimeType": "image/gif", "buffer": b"GIF89a" + bytes(64)})
    page.locator("form[data-upload-form] button[type=submit]").click()
    assert "card.gif" in errors.inner_text()
    assert posts == []  # refused in the page: nothing was sent

    field.set_input_files({"name": "card.jpg", "mimeType": "image/jpeg", "buffer": files.photo_bytes(300, 200)})
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        page.locator("form[data-upload-form] button[type=submit]").click()
    assert answer.value.status == 400  # accepted by the page: the form went to the server, which names what is missing
    page.locator("[data-errors-for=contact_email]").filter(has_text="").first.wait_for()
    assert "card.jpg" not in errors.inner_text()

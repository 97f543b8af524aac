"""The landing page and the appeal form as an appellant on a phone meets them (through HTTP)."""

import re

import pytest
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, submission
from tickets.models import Appeal, AppealType, OutboundEmail, RechargeRecord
from tickets.outbox.services import outbox_deliver

pytestmark = pytest.mark.django_db


def page(client, path, language="zh-hans"):
    return client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def link_texts(html: str, href: str) -> list[str]:
    """The visible text of every link to `href` (tags stripped, whitespace collapsed)."""
    pattern = rf'<a\b[^>]*href="{re.escape(href)}"[^>]*>(.*?)</a>'
    return [" ".join(re.sub(r"<[^>]+>", " ", text).split()) for text in re.findall(pattern, html, re.S)]


def without_templates(html: str) -> str:
    """The page as rendered, without the <template> blocks the script clones rows from."""
    return re.sub(r"<template\b.*?</template>", "", html, flags=re.S)


# --- Landing ---------------------------------------------------------------------------------------


def test_the_track_link_is_shown_on_small_screens_and_above_the_appeal_types(client, appeal_types):
    html = page(client, "/")
    track = reverse("tickets:track")
    header_link = re.search(rf'<a\b[^>]*href="{track}"[^>]*>', html).group(0)
    assert "d-none" not in header_link  # not hidden below the sm breakpoint any more
    links = [m.start() for m in re.finditer(rf'href="{track}"', html)]
    first_card = html.index('class="card')
    assert len(links) == 2 and all(position < first_card for position in links)
    assert link_texts(html, track)[1] == "已提交申诉？点此查询进度。"


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_each_landing_button_names_its_appeal_type(client, appeal_types, language):
    html = page(client, "/", language)
    names = []
    for appeal_type in AppealType.objects.all():
        texts = link_texts(html, reverse("tickets:new", args=[appeal_type.code]))
        name = appeal_type.name_en if language == "en" else appeal_type.name_zh_hans
        expected = f"File an appeal: {name}" if language == "en" else f"提交申诉：{name}"
        assert texts == [expected]
        names.append(texts[0])
    assert len(set(names)) == 5


# --- Site name -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "name", "consent"),
    [
        ("zh-hans", "申诉服务台", "我同意申诉服务台处理我的证件图像"),
        ("en", "SupportDesk", "I agree that SupportDesk processes the images"),
    ],
)
def test_header_title_and_consent_use_the_default_site_name_of_the_language(client, appeal_types, language, name, consent):
    html = page(client, reverse("tickets:new", args=["realname_unbind"]), language)
    assert re.search(rf'class="navbar-brand[^"]*"[^>]*>{name}</a>', html)
    assert re.search(rf"<title>[^<]* · {name}</title>", html)
    assert consent in html
    if language == "zh-hans":
        assert "SupportDesk" not in html  # no Latin product name on a Chinese page


@pytest.mark.parametrize(
    ("language", "name", "other"), [("zh-hans", "找回服务中心", "RecoverDesk"), ("en", "RecoverDesk", "找回服务中心")]
)
def test_the_site_name_is_configurable_per_language(client, appeal_types, settings, language, name, other):
    settings.SITE_NAME_ZH_HANS = "找回服务中心"
    settings.SITE_NAME_EN = "RecoverDesk"
    appeal_type = appeal_types["realname_unbind"]
    html = page(client, reverse("tickets:new", args=[appeal_type.code]), language)
    assert re.search(rf'class="navbar-brand[^"]*"[^>]*>{name}</a>', html)
    assert re.search(rf"<title>[^<]* · {name}</title>", html)
    assert html.count(name) >= 3  # header, title, consent
    assert other not in html and "申诉服务台" not in html

    data = submission(appeal_type, language=language)
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert name in appeal.consent_text  # the consent is stored as shown
    acknowledgement = OutboundEmail.objects.get(appeal=appeal, template="acknowledgement")
    assert outbox_deliver(email_id=acknowledgement.pk)  # rendered by the worker as it sends it
    acknowledgement.refresh_from_db()
    assert name in acknowledgement.body_html and other not in acknowledgement.body_html


# --- Records: one row, asked once ------------------------------------------------------------------


def test_a_single_record_row_offers_no_removal(client, appeal_types):
    html = without_templates(page(client, reverse("tickets:new", args=["account_recovery"])))
    assert 'name="recharge-0-order_number"' in html and 'name="device-0-seen_at"' in html
    assert "-DELETE" not in html
    assert "删除此行" not in html


def test_rows_added_after_the_first_can_be_removed(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    data = submission(
        appeal_type,
        **{
            "recharge-TOTAL_FORMS": "2",
            "recharge-1-order_number": "TX2",
            "recharge-1-amount": "not a number",
            "recharge-1-paid_at": "2026-10-15T09:30",
        },
    )
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    html = without_templates(response.content.decode())
    assert 'name="recharge-1-DELETE"' in html and 'name="recharge-0-DELETE"' not in html
    assert Appeal.objects.count() == 0 and RechargeRecord.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def test_record_files_are_asked_once_in_the_records_section(client, appeal_types):
    html = page(client, reverse("tickets:new", args=["account_recovery"]))
    records = html[html.index('id="records"') : html.index(zh("5. Evidence files"))]
    files_section = html[html.index(zh("5. Evidence files")) :]
    for name in ("evidence_recharge_record", "evidence_device_log", "recharge_csv", "device_csv"):
        assert html.count(f'name="{name}"') == 1
        assert f'name="{name}"' in records
        assert f'name="{name}"' not in files_section
    assert "充值记录截图（选填）" in records and "登录设备记录截图（选填）" in records
    for name in ("evidence_id_front", "evidence_screenshot", "evidence_other"):
        assert f'name="{name}"' in files_section


def test_touch_screens_are_not_told_to_drag_files(client, appeal_types):
    html = page(client, reverse("tickets:new", args=["account_recovery"]))
    # Both hints start hidden; the page's script shows the one that fits the pointer.
    assert html.count("<span data-drop-hint hidden>") == html.count("<span data-touch-hint hidden>") > 0
    assert "点按即可选择文件或拍照。" in html


# --- The emergency freeze asks only what a freeze needs ---------------------------------------------

FREEZE = {
    "contact_email": "li.lei@example.com",
    "language": "zh-hans",
    "account_identifier": "lilei_2019",
    "registered_phone": "13800138000",
    "id_number": "002X",
}


def test_the_freeze_form_asks_only_what_a_freeze_needs(client, appeal_types):
    html = page(client, reverse("tickets:new", args=["emergency_freeze"]))
    form = html[html.index('id="appeal-form"') : html.index("</form>", html.index('id="appeal-form"'))]
    names = set(re.findall(r'<(?:input|select|textarea)\b[^>]*name="([^"]+)"', form)) - {"csrfmiddlewaretoken"}
    assert names == {
        "contact_email",
        "contact_phone",
        "language",
        "account_identifier",
        "registered_phone",
        "id_number",
        "letter_background",
    }
    assert re.search(r'<input type="text" name="letter_background" maxlength="200"', html)  # one line
    assert "发生了什么？（选填）" in html
    assert re.search(r'<input[^>]*name="id_number"[^>]*maxlength="4"', html)
    assert zh("3. Your letter") not in html and "<textarea" not in form and 'type="file"' not in html
    assert AppealType.objects.get(code="emergency_freeze").brief_form


def test_a_freeze_is_filed_without_a_letter(client, appeal_types):
    response = client.post(reverse("tickets:new", args=["emergency_freeze"]), FREEZE)
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert (appeal.letter_background, appeal.letter_steps_taken, appeal.letter_request) == ("", "", "")
    assert appeal.registered_phone == "13800138000" and appeal.id_number_last4 == "002X"


def test_a_freeze_keeps_its_one_line_on_what_happened(client, appeal_types):
    client.post(reverse("tickets:new", args=["emergency_freeze"]), {**FREEZE, "letter_background": "陌生手机登录提醒"})
    assert Appeal.objects.get().letter_background == "陌生手机登录提醒"


def test_a_freeze_line_that_is_too_long_is_refused_and_nothing_is_stored(client, appeal_types, evidence_root):
    response = client.post(
        reverse("tickets:new", args=["emergency_freeze"]),
        {**FREEZE, "letter_background": "很" * 201},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert "200" in response.content.decode()
    assert "letter_background" in response.context["form"].appeal.errors
    assert Appeal.objects.count() == 0 and OutboundEmail.objects.count() == 0 and Evidence.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def test_a_freeze_without_phone_and_id_digits_is_refused_and_nothing_is_stored(en_client, appeal_types, evidence_root):
    data = {**FREEZE, "registered_phone": "", "id_number": ""}
    response = en_client.post(reverse("tickets:new", args=["emergency_freeze"]), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["registered_phone"] == ["This field is required."]
    assert errors["id_number"] == ["This field is required."]
    assert Appeal.objects.count() == 0 and OutboundEmail.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def test_the_full_letter_is_still_required_where_the_form_is_not_brief(en_client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    data = submission(appeal_type, letter_steps_taken="", letter_request="")
    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["letter_steps_taken"] == ["This field is required."]
    assert errors["letter_request"] == ["This field is required."]
    assert Appeal.objects.count() == 0 and Evidence.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def test_the_brief_form_is_chosen_per_appeal_type_in_the_admin(admin_client, appeal_types):
    appeal_type = appeal_types["access_card_unbind"]
    change = reverse("admin:tickets_appealtype_change", args=[appeal_type.pk])
    assert 'name="brief_form"' in admin_client.get(change).content.decode()
    appeal_type.brief_form = True
    appeal_type.save()
    html = page(admin_client, reverse("tickets:new", args=[appeal_type.code]))
    assert 'name="letter_request"' not in html and 'name="evidence_other"' not in html
    assert 'name="evidence_screenshot"' in html  # a required kind is still asked


def test_a_refused_csv_import_is_shown_unfolded_beside_its_records(en_client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    data = submission(
        appeal_type,
        recharge_csv=files.upload("r.csv", b"order_number,amount,paid_at\nTX1,not money,2026-11-01 10:00\n", "text/csv"),
    )
    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), data)
    assert response.status_code == 400
    html = response.content.decode()
    recharge_box = html[html.index('data-formset="recharge"') : html.index('data-formset="device"')]
    assert '<details class="mt-2" data-record-alternatives open>' in recharge_box
    assert "Row 2" in recharge_box  # the row error is right there, not folded away
    device_box = html[html.index('data-formset="device"') :]
    assert '<details class="mt-2" data-record-alternatives>' in device_box
    assert Appeal.objects.count() == 0 and RechargeRecord.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


def test_the_console_shows_only_the_letter_parts_a_brief_appeal_has(en_client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(
        appeal_type=appeal_types["emergency_freeze"], letter_background="手机被盗", letter_steps_taken="", letter_request=""
    )
    en_client.force_login(agent)
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert "手机被盗" in html
    assert "Steps already taken" not in html and ">Request<" not in html

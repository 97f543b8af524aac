"""Recharge and login-device records uploaded as a CSV file on the public form: the headers real
exports use, the columns we ignore, and files in an encoding we cannot read."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests import files
from tests.tickets.factories import submission
from tests.tickets.test_appeal_submit import assert_nothing_stored
from tickets.models import LoginDeviceRecord, RechargeRecord

LANGUAGES = ["zh-hans", "en"]

RECHARGE_HEADERS = {
    "english, BOM, capitals and spaces": "\ufefforder_no,Amount, Paid At ,Product",
    "order number and amount in Chinese": "订单号,金额,充值时间,商品",
    "a bank export with full-width brackets": "订单编号,支付金额（元）,交易时间,商品名称",
    "a payment app export with a unit and extra columns": "交易单号,金额(元),付款时间,商品名称,交易状态,备注",
    "full-width Latin letters": "ＯＲＤＥＲ＿ＮＯ,ＡＭＯＵＮＴ,交易时间",
}
DEVICE_HEADERS = {
    "Chinese headers with MAC": "登录时间,IP,设备型号,MAC,登录地点",
    "other Chinese spellings": "时间,IP地址,设备名称,设备ID,位置",
    "mixed spellings": "Login Time,IP Address,Device Name,设备标识,Location",
}


def post_csv(client, appeal_type, language, **csv_files):
    url = reverse("tickets:new", args=[appeal_type.code])
    return client.post(url, submission(appeal_type, **csv_files), HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("header", RECHARGE_HEADERS.values(), ids=RECHARGE_HEADERS.keys())
def test_recharge_csv_headers_from_real_exports_are_recognised(client, appeal_types, language, header):
    appeal_type = appeal_types["account_recovery"]
    values = ["TX-EXPORT-1", "30.00", "2026-10-01 12:30", "月卡", "成功", ""][: len(header.split(","))]
    body = f"{header}\n{','.join(values)}\n".encode()
    upload = files.upload("导出.csv", body, "text/csv")

    response = post_csv(client, appeal_type, language, recharge_csv=upload)

    assert response.status_code == 302, response.context["form"].uploads.errors
    record = RechargeRecord.objects.get(order_number="TX-EXPORT-1")
    assert record.amount == Decimal("30.00")
    assert record.currency == "CNY"  # no currency column: the form's default
    assert record.paid_at.strftime("%Y-%m-%d %H:%M") in ("2026-10-01 04:30", "2026-10-01 12:30")
    assert record.product == ("月卡" if len(values) > 3 else "")


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("header", DEVICE_HEADERS.values(), ids=DEVICE_HEADERS.keys())
def test_device_csv_headers_from_real_exports_are_recognised(client, appeal_types, language, header):
    appeal_type = appeal_types["account_recovery"]
    body = f"{header}\n2026-10-01 08:00,203.0.113.7,Xiaomi 14,AA:BB:CC:DD:EE:FF,上海\n".encode()
    upload = files.upload("devices.csv", body, "text/csv")

    response = post_csv(client, appeal_type, language, device_csv=upload)

    assert response.status_code == 302, response.context["form"].uploads.errors
    record = LoginDeviceRecord.objects.get(device_model="Xiaomi 14")
    assert (record.ip_address, record.device_id, record.location) == ("203.0.113.7", "AA:BB:CC:DD:EE:FF", "上海")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ["CSV 文件缺少以下列：订单号、金额、支付时间。", "“交易状态”", "order_number/订单号"]),
        ("en", ["The CSV file has no column for: Order number, Amount, Paid at.", "“交易状态”", "order_number/订单号"]),
    ],
)
def test_a_csv_without_the_required_columns_names_them_and_the_ignored_ones(
    client, appeal_types, evidence_root, language, expected
):
    appeal_type = appeal_types["account_recovery"]
    upload = files.upload("r.csv", "交易状态,商品名称\n成功,月卡\n".encode(), "text/csv")

    response = post_csv(client, appeal_type, language, recharge_csv=upload)

    assert response.status_code == 400
    errors = " ".join(response.context["form"].uploads.errors["recharge_csv"])
    for text in expected:
        assert text in errors
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("zh-hans", "以下列无法识别，已忽略：“交易状态”、“备注”。"),
        ("en", "Columns we did not recognise and ignored: “交易状态”, “备注”."),
    ],
)
def test_rows_refused_in_a_csv_also_name_the_ignored_columns(client, appeal_types, evidence_root, language, note):
    appeal_type = appeal_types["account_recovery"]
    body = "订单号,金额,交易时间,交易状态,备注\nTX1,abc,2026-10-01 12:00,成功,\n".encode()
    upload = files.upload("r.csv", body, "text/csv")

    response = post_csv(client, appeal_type, language, recharge_csv=upload)

    assert response.status_code == 400
    errors = response.context["form"].uploads.errors["recharge_csv"]
    assert errors[0] == note
    assert errors[1].startswith("第 2 行" if language == "zh-hans" else "Row 2, Amount:")
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", ["不是以 UTF-8 或 GB18030 编码保存的文本", "CSV UTF-8（逗号分隔）", "另存为"]),
        ("en", ["is not saved as UTF-8 or GB18030 text", "“CSV UTF-8 (Comma delimited)”", "WPS, choose 另存为"]),
    ],
)
@pytest.mark.parametrize(
    "content",
    [
        "commande,montant,payé le\nN°1,5,2026-10-01 12:00\n".encode("latin-1"),
        "订单号,金额,支付时间\nTX1,5,2026-10-01 12:00\n".encode("utf-16"),
    ],
    ids=["latin-1", "utf-16"],
)
def test_a_csv_in_another_encoding_is_told_how_to_save_it(client, appeal_types, evidence_root, language, expected, content):
    appeal_type = appeal_types["account_recovery"]
    upload = files.upload("records.csv", content, "text/csv")

    response = post_csv(client, appeal_type, language, recharge_csv=upload)

    assert response.status_code == 400
    errors = " ".join(response.context["form"].uploads.errors["recharge_csv"])
    assert "records.csv" in errors
    for text in expected:
        assert text in errors
    assert "CSV text file" not in errors
    assert_nothing_stored(evidence_root)

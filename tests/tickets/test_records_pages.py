"""The console shows an appeal's records a page at a time, and exports them as a streamed CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealType, LoginDeviceRecord, RechargeRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, appeal_types):
    client.force_login(AgentFactory())
    return client


def appeal_with_records(count: int):
    appeal = AppealFactory(appeal_type=AppealType.objects.get(code="account_recovery"))
    start = timezone.now() - timedelta(days=30)
    RechargeRecord.objects.bulk_create(
        RechargeRecord(appeal=appeal, order_number=f"TX-{i:05d}", amount=i + 1, paid_at=start + timedelta(minutes=i))
        for i in range(count)
    )
    LoginDeviceRecord.objects.bulk_create(
        LoginDeviceRecord(appeal=appeal, seen_at=start + timedelta(minutes=i), device_model=f"Phone {i:05d}")
        for i in range(count)
    )
    return appeal


def appeal_page(client, appeal, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("desk:appeal", args=[appeal.reference]), params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response, queries


def test_an_appeal_with_1000_records_shows_page_1_with_counts_and_a_link_to_page_2(agent_client):
    appeal = appeal_with_records(1000)
    response, _queries = appeal_page(agent_client, appeal)
    html = response.content.decode()
    assert html.count('data-record="recharge"') == 50
    assert html.count('data-record="device"') == 50
    assert "TX-00000" in html and "TX-00049" in html and "TX-00050" not in html
    assert "Recharge records (1000)" in html and "Login device records (1000)" in html
    assert 'href="?records=2#records"' in html
    assert "Page 1 of 20" in html


def test_the_records_page_runs_the_same_queries_for_10_and_1000_records(agent_client):
    appeal_page(agent_client, AppealFactory())  # the canned replies cached, as on a working console
    small, with_10 = appeal_page(agent_client, appeal_with_records(10))
    large, with_1000 = appeal_page(agent_client, appeal_with_records(1000))
    assert len(with_10) == len(with_1000)
    # Every read of the records is a count or a bounded page: never all the rows.
    record_reads = [
        q["sql"] for q in with_1000.captured_queries if "rechargerecord" in q["sql"] or "logindevicerecord" in q["sql"]
    ]
    assert len(record_reads) == 4
    assert all("COUNT(*)" in sql or "LIMIT 50" in sql for sql in record_reads)
    # 40 more rows of each kind on the page, not 990.
    assert len(large.content) - len(small.content) < 40_000


def test_later_pages_follow_the_record_order_and_stop_at_the_last(agent_client):
    appeal = appeal_with_records(120)
    html = appeal_page(agent_client, appeal, records="2")[0].content.decode()
    assert "TX-00050" in html and "TX-00099" in html and "TX-00049" not in html and "TX-00100" not in html
    assert 'href="?records=1#records"' in html and 'href="?records=3#records"' in html
    last = appeal_page(agent_client, appeal, records="99")[0].content.decode()
    assert "Page 3 of 3" in last and "TX-00119" in last and "?records=4" not in last
    first = appeal_page(agent_client, appeal, records="not-a-number")[0].content.decode()
    assert "Page 1 of 3" in first


def test_the_records_csv_is_streamed_with_every_record(agent_client):
    appeal = appeal_with_records(1000)
    response = agent_client.get(reverse("desk:records_csv", args=[appeal.reference]))
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1 + 2000
    assert [r[2] for r in rows[1:1001]] == [f"TX-{i:05d}" for i in range(1000)]
    assert rows[1001][0] == "login_device" and rows[-1][7] == "Phone 00999"

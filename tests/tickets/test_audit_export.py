"""The audit export /desk/audit/export/ (tickets/reports/audit.py): the evidence access log, the appeals'
events and the staff's security events by Beijing days, CSV and JSON, streamed; supervisors and
administrators only; bad choices refused with a message and nothing exported."""

import csv
import io
import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from evidence.models import EvidenceAccess
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory
from tickets.models import AppealEvent, StaffSecurityEvent
from tickets.reports import audit

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
URL = "/desk/audit/export/"


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


@pytest.fixture
def log(appeal_types):
    """Accesses and events on the 9th (before), the 10th at 00:00 and at 23:59 (the range's edges,
    Beijing time), and the 11th (after)."""
    viewer = AgentFactory(username="li.agent")
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal, kind="id_front")
    for moment, by_appellant in ((at(9, 23, 59), False), (at(10, 0, 0), False), (at(10, 23, 59), True), (at(11, 0, 0), False)):
        EvidenceAccess.objects.create(
            evidence=evidence,
            user=None if by_appellant else viewer,
            by_appellant=by_appellant,
            thumbnail=not by_appellant,
            ip_address="203.0.113.7",
            created_at=moment,
        )
    for moment, comment in ((at(9, 23, 59), "before"), (at(10, 8), '=HYPERLINK("http://evil")'), (at(11, 0), "after")):
        AppealEvent.objects.create(
            appeal=appeal, kind="note", actor=viewer, comment=comment, public=False, from_state="submitted", created_at=moment
        )
    return {"appeal": appeal, "viewer": viewer}


def export(client, **params):
    query = {"since": "2026-11-10", "until": "2026-11-10", "what": "access", "format": "csv", **params}
    return client.get(URL, query)


def body(response) -> str:
    assert response.streaming, "the export is streamed"
    return b"".join(response.streaming_content).decode("utf-8")


def test_access_log_as_csv_lists_only_the_range_in_beijing_time(client, log):
    supervisor = SupervisorFactory()
    client.force_login(supervisor)
    response = export(client)
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="supportdesk-access-2026-11-10-2026-11-10.csv"'
    rows = list(csv.DictReader(io.StringIO(body(response).lstrip("\ufeff"))))
    assert [(r["time"], r["who"], r["appeal"], r["file_kind"], r["thumbnail"]) for r in rows] == [
        ("2026-11-10T00:00:00+08:00", "li.agent", log["appeal"].reference, "id_front", "True"),
        ("2026-11-10T23:59:00+08:00", "appellant", log["appeal"].reference, "id_front", "False"),
    ]
    assert rows[0]["ip_address"] == "203.0.113.7"


def test_events_as_json_parse_and_cells_in_csv_are_inert(client, log):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = export(client, what="events", format="json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    rows = json.loads(body(response))
    assert rows == [
        {
            "time": "2026-11-10T08:00:00+08:00",
            "appeal": log["appeal"].reference,
            "kind": "note",
            "actor": "li.agent",
            "from_state": "submitted",
            "to_state": "",
            "public": False,
            "comment": '=HYPERLINK("http://evil")',
        }
    ]
    text = body(export(client, what="events", format="csv"))
    (row,) = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    assert row["comment"] == '\'=HYPERLINK("http://evil")'


def test_an_export_is_recorded_and_listed_with_the_staff_events(client, log, caplog):
    supervisor = SupervisorFactory(username="wang.supervisor")
    client.force_login(supervisor)
    with caplog.at_level(logging.INFO, logger="tickets.reports.audit"):
        body(export(client, what="events", format="json"))
    event = StaffSecurityEvent.objects.get()
    assert (event.kind, event.actor, event.detail) == ("audit_export", supervisor, "events json 2026-11-10..2026-11-10")
    assert "Audit export by wang.supervisor" in caplog.text
    today = event.created_at.astimezone(BEIJING).date().isoformat()
    rows = json.loads(body(export(client, what="staff", format="json", since=today, until=today)))
    assert [(r["kind"], r["actor"], r["detail"]) for r in rows] == [
        ("audit_export", "wang.supervisor", "events json 2026-11-10..2026-11-10"),
        ("audit_export", "wang.supervisor", f"staff json {today}..{today}"),
    ]


def test_rows_are_read_in_batches_and_none_is_lost_between_them(client, log, monkeypatch):
    """Keyset batches: rows sharing a moment across a batch boundary are all sent, once."""
    monkeypatch.setattr(audit, "BATCH", 2)
    evidence = EvidenceFactory(appeal=log["appeal"])
    for _ in range(5):
        EvidenceAccess.objects.create(evidence=evidence, by_appellant=True, created_at=at(12, 9))
    client.force_login(SupervisorFactory())
    rows = json.loads(body(export(client, since="2026-11-09", until="2026-11-12", format="json")))
    assert len(rows) == 4 + 5
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)


def test_agents_get_403_and_nothing_is_recorded(client, log):
    client.force_login(AgentFactory())
    assert export(client).status_code == 403
    assert client.get(reverse("desk:audit")).status_code == 403
    assert not StaffSecurityEvent.objects.exists()


def test_the_signed_out_are_sent_to_sign_in(client, log):
    response = export(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_idle_session_is_sent_to_sign_in_and_nothing_is_exported(client, log, settings):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.force_login(SupervisorFactory())
        traveller.shift(timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES + 1))
        response = export(client)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/desk/audit/export/")
    assert not StaffSecurityEvent.objects.exists()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-11-10", "until": "2026-11-09"}, "The end date is before the start date."),
        ({"since": "2025-11-09", "until": "2026-11-10"}, "At most 366 days can be exported at a time"),  # 367 days
        ({"what": "passwords"}, "Select a valid choice. passwords is not one of the available choices."),
        ({"format": "xlsx"}, "Select a valid choice. xlsx is not one of the available choices."),
        ({"since": "10/11/2026"}, "Enter a valid date."),
        ({"until": ""}, "This field is required."),
    ],
)
def test_bad_choices_are_refused_with_a_message_and_nothing_exported(client, log, params, message):
    client.force_login(SupervisorFactory())
    query = {"since": "2026-11-10", "until": "2026-11-10", "what": "access", "format": "csv", **params}
    response = client.get(URL, query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and not response.streaming
    assert message in response.content.decode().replace("&quot;", '"')
    assert not StaffSecurityEvent.objects.exists()


def test_a_range_of_exactly_the_maximum_is_accepted(client, log):
    client.force_login(SupervisorFactory())
    response = export(client, since="2025-11-11", until="2026-11-11")  # 366 days, both included
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(body(response).lstrip("\ufeff"))))) == 1 + 4


def test_the_form_page_links_from_the_console_for_supervisors(client, log):
    client.force_login(SupervisorFactory())
    page = client.get(reverse("desk:audit"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-audit-form" in page and f'action="{URL}"' in page
    assert f'href="{reverse("desk:audit")}"' in client.get(reverse("desk:queue")).content.decode()
    client.force_login(AgentFactory())
    assert f'href="{reverse("desk:audit")}"' not in client.get(reverse("desk:queue")).content.decode()

"""`/desk/metrics/`: SLA compliance, time to decision, backlog, breaches, workload; CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.models import SlaEvent
from tickets.reports.exports import csv_safe
from tickets.reports.metrics import metrics_compute

pytestmark = pytest.mark.django_db


def decided(appeal_types, *, code="realname_unbind", hours: float, met: bool, **kwargs):
    created = timezone.now() - timedelta(days=3)
    closed = created + timedelta(hours=hours)
    due = closed + timedelta(hours=1) if met else closed - timedelta(hours=1)
    return AppealFactory(
        appeal_type=appeal_types[code], state="approved", created_at=created, closed_at=closed, sla_due_at=due, **kwargs
    )


@pytest.fixture
def history(appeal_types):
    agent = AgentFactory(username="wang")
    for hours in (10, 20, 30, 40):
        decided(appeal_types, hours=hours, met=True, assignee=agent)
    decided(appeal_types, hours=80, met=False, assignee=agent)
    decided(appeal_types, code="emergency_freeze", hours=3, met=False)
    now = timezone.now()
    AppealFactory(created_at=now - timedelta(hours=5), assignee=agent, state="in_review")
    AppealFactory(created_at=now - timedelta(hours=30))
    AppealFactory(created_at=now - timedelta(hours=100), sla_due_at=now - timedelta(hours=28), assignee=agent, state="escalated")
    SlaEvent.objects.create(appeal=AppealFactory(), kind="breach", cycle=1)
    return agent


def test_metrics_numbers(history):
    m = metrics_compute()
    by_type = {r["type"].code: (r["met"], r["breached"]) for r in m.compliance_by_type}
    assert by_type == {"realname_unbind": (4, 1), "emergency_freeze": (0, 1)}
    assert sum(r["met"] for r in m.compliance_by_week) == 4
    assert m.decision_hours["p50"] == pytest.approx(25.0)  # of 3, 10, 20, 30, 40, 80 hours
    assert m.decision_hours["p90"] == pytest.approx(60.0)
    assert [b["count"] for b in m.backlog] == [2, 1, 0, 1]  # <24 h (incl. the breach-event appeal), 24-48, 48-72, >72
    assert [r["count"] for r in m.breaches_by_day] == [1]
    (wang,) = m.workload
    assert (wang["assignee__username"], wang["open"], wang["overdue"], wang["decided_7d"]) == ("wang", 2, 1, 5)


def test_metrics_page_is_for_supervisors_with_charts_and_numbers(en_client, history):
    en_client.force_login(history)  # an agent
    assert en_client.get(reverse("desk:metrics")).status_code == 403
    en_client.force_login(SupervisorFactory())
    with CaptureQueriesContext(connection) as queries:
        response = en_client.get(reverse("desk:metrics"))
    html = response.content.decode()
    assert response.status_code == 200
    for chart in ("compliance-by-type", "compliance-by-week", "time-to-decision", "backlog", "breaches-by-day", "workload"):
        assert f'data-chart="{chart}"' in html
    assert html.count("<svg") >= 5 and "25.0 h" in html and "60.0 h" in html
    # Aggregates, not one query per appeal (27: the reason codes' and the satisfaction figures' own).
    assert len(queries) <= 27


def test_metrics_query_count_does_not_grow_with_appeals(client, appeal_types):
    client.force_login(SupervisorFactory())

    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            client.get(reverse("desk:metrics"))
        return len(queries)

    for hours in (5, 6):
        decided(appeal_types, hours=hours, met=True)
    few = count_queries()
    for hours in range(60):
        decided(appeal_types, hours=hours, met=hours < 50)
    assert count_queries() == few


def test_metrics_csv_export(client, history):
    client.force_login(SupervisorFactory())
    response = client.get(reverse("desk:metrics"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "key", "met", "breached", "value"]
    assert ["compliance_by_type", "realname_unbind", "4", "1", ""] in rows
    assert ["hours_to_decision", "p50", "", "", "25.0"] in rows


def test_csv_cells_that_look_like_formulas_are_made_inert():
    assert csv_safe('=HYPERLINK("http://evil")') == '\'=HYPERLINK("http://evil")'
    assert csv_safe("@SUM(A1)") == "'@SUM(A1)"
    assert csv_safe("-12.5") == "-12.5"
    assert csv_safe("wang") == "wang"

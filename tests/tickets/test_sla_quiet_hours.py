# ruff: noqa: F811 -- the fixtures imported from test_sla_calendar are arguments of the tests below
"""Quiet hours: a non-urgent type's SLA alerts outside its policy calendar's working hours are held
and sent as one digest per person when the hours begin; urgent types alert at once, at any hour."""

import pytest

from tests.tickets.test_sla import sweep_at
from tests.tickets.test_sla_calendar import at, english, staff, two_working_days  # noqa: F401 (fixtures)
from tests.tickets.test_sla_levels import filed, ladder
from tickets.models import OutboundEmail, SlaEvent, SlaHeldAlert, SlaPolicy
from tickets.sla.sweep import sla_held_alerts_send


@pytest.fixture
def ten_hours_on_the_calendar(appeal_types, two_working_days):
    """realname_unbind: 10 wall-clock hours, its alerts on the 09:00–18:00 Beijing calendar's hours."""
    SlaPolicy.objects.filter(calendar=two_working_days).update(unit="hours", target=10)
    policy = SlaPolicy.objects.get()
    ladder(policy, (50, "assignee", "alert"), (100, "supervisors", "escalate"))
    return policy


def test_night_alerts_arrive_in_the_morning_digest(appeal_types, staff, ten_hours_on_the_calendar):
    """Filed Thu 9 Oct 2025 at 13:00: the 50 % level at 18:00 (closing time) and the breach at 23:00 are
    recorded and escalate when due, but their e-mails wait for Fri 10 Oct 09:00."""
    first = filed(appeal_types, at(2025, 10, 9, 13, 0), state="in_review", assignee=staff["agent"])
    second = filed(appeal_types, at(2025, 10, 9, 13, 30), state="in_review", assignee=staff["agent"])
    assert sweep_at(at(2025, 10, 9, 18, 30)).held == 2
    report = sweep_at(at(2025, 10, 9, 23, 30))
    assert report.escalated == [first.reference, second.reference] and report.held == 2
    first.refresh_from_db()
    assert first.state == "escalated"  # the action is not held, only the e-mail
    assert SlaEvent.objects.count() == 4 and not OutboundEmail.objects.exists()

    assert sla_held_alerts_send(now=at(2025, 10, 10, 8, 59)) == 0
    assert sla_held_alerts_send(now=at(2025, 10, 10, 9, 0)) == 2  # one digest for the agent, one for the supervisor
    digests = {e.to: e for e in OutboundEmail.objects.filter(template="sla_digest")}
    assert set(digests) == {"agent@example.com", "sup@example.com"}
    assert digests["agent@example.com"].subject == "SLA digest: 2 alerts held overnight"
    body = digests["agent@example.com"].body_text
    assert "50 % of the promised time: " + first.reference in body and second.reference in body
    assert "100 % of the promised time · escalated: " + first.reference in digests["sup@example.com"].body_text
    assert sla_held_alerts_send(now=at(2025, 10, 10, 9, 5)) == 0 and not SlaHeldAlert.objects.exists()


def test_alerts_in_working_hours_go_at_once(appeal_types, staff, ten_hours_on_the_calendar):
    filed(appeal_types, at(2025, 10, 9, 9, 0), state="in_review", assignee=staff["agent"])
    report = sweep_at(at(2025, 10, 9, 14, 0))
    assert report.held == 0 and report.emails == 1
    assert not SlaHeldAlert.objects.exists()


def test_an_emergency_freeze_alerts_at_once_at_3_am(appeal_types, staff, ten_hours_on_the_calendar):
    """No policy: the freeze keeps its 2-hour wall-clock target and alerts at any hour."""
    freeze = filed(appeal_types, at(2025, 10, 9, 1, 0), code="emergency_freeze")
    report = sweep_at(at(2025, 10, 9, 3, 0))
    assert report.escalated == [freeze.reference] and report.held == 0
    assert OutboundEmail.objects.filter(template="sla_alert", to="sup@example.com").count() == 1


def test_an_urgent_policy_alerts_at_once_at_3_am(appeal_types, staff, ten_hours_on_the_calendar):
    SlaPolicy.objects.update(urgent=True)
    filed(appeal_types, at(2025, 10, 8, 17, 0), state="in_review", assignee=staff["agent"])
    assert sweep_at(at(2025, 10, 9, 3, 0)).emails == 1  # the 50 % level (22:00), overdue
    report = sweep_at(at(2025, 10, 9, 3, 1))  # one level a sweep: the breach (03:00) next
    assert report.held == 0 and report.emails == 1 and len(report.escalated) == 1
    assert not SlaHeldAlert.objects.exists()

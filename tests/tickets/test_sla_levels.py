# ruff: noqa: F811 -- the fixtures imported from test_sla_calendar are arguments of the tests below
"""Escalation levels defined as data on an SLA policy (threshold % of the target → recipients →
action) drive the sweep instead of the default 75 % / 100 % / +24 h ladder."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AppealFactory, SupervisorFactory, submission
from tests.tickets.test_appeal_submit import post_appeal
from tests.tickets.test_sla import alerts, assert_escalated_and_alerted_once, sweep_at, two_sweeps_at_once
from tests.tickets.test_sla_calendar import DUE, FILED, WARN, english, staff, two_working_days  # noqa: F401 (fixtures)
from tickets.models import SLA_LEVELS_BASE, Appeal, AppealEvent, OutboundEmail, SlaEscalationLevel, SlaEvent, SlaPolicy
from tickets.services import agent as agent_services
from tickets.services.appellant import appeal_provide_info

T0 = timezone.now().replace(microsecond=0)


def ladder(policy, *levels):
    for position, (percent, recipients, action) in enumerate(levels, start=1):
        SlaEscalationLevel.objects.create(
            policy=policy, position=position, threshold_percent=percent, recipients=recipients, action=action
        )


@pytest.fixture
def ten_hours(appeal_types):
    """realname_unbind: 10 wall-clock hours; at 50 % the assignee, at 100 % the supervisors and
    escalate, at 150 % the administrators."""
    policy = SlaPolicy.objects.create(appeal_type=appeal_types["realname_unbind"], unit="hours", target=10)
    ladder(policy, (50, "assignee", "alert"), (100, "supervisors", "escalate"), (150, "administrators", "alert"))
    return policy


def filed(appeal_types, when, code="realname_unbind", **kwargs) -> Appeal:
    """An appeal whose clock started at `when`, as intake starts it."""
    appeal = AppealFactory.build(appeal_type=appeal_types[code], created_at=when, **kwargs)
    appeal.sla_clock_start(when)
    appeal.save()
    return appeal


def test_levels_drive_the_sweep_in_turn(appeal_types, staff, ten_hours):
    appeal = filed(appeal_types, T0, state="in_review", assignee=staff["agent"])
    assert appeal.sla_due_at == T0 + timedelta(hours=10) and appeal.sla_level_at == T0 + timedelta(hours=5)
    assert sweep_at(T0 + timedelta(hours=4, minutes=59)).levels == []
    report = sweep_at(T0 + timedelta(hours=5))
    assert report.levels == [f"{appeal.reference}@50"] and report.warned == []  # not the default 75 %
    assert list(alerts("SLA 50 %")) == ["agent@example.com"]
    assert "reached 50 % of their promised response time" in alerts("SLA 50 %")["agent@example.com"]
    assert sweep_at(T0 + timedelta(hours=9, minutes=59)).levels == []
    report = sweep_at(T0 + timedelta(hours=10))
    assert report.escalated == [appeal.reference] and report.breached == [appeal.reference]
    assert list(alerts("SLA 100 %")) == ["sup@example.com"]
    appeal.refresh_from_db()
    assert appeal.state == "escalated" and appeal.sla_breached
    assert AppealEvent.objects.filter(appeal=appeal, kind="escalate").count() == 1
    assert sweep_at(T0 + timedelta(hours=14)).levels == []  # not 24 h after escalation: 150 % of 10 h
    assert sweep_at(T0 + timedelta(hours=15)).levels == [f"{appeal.reference}@150"]
    assert list(alerts("SLA 150 %")) == ["root@example.com"]
    appeal.refresh_from_db()
    assert appeal.sla_level_at is None and appeal.sla_stage == SLA_LEVELS_BASE + 3
    assert sweep_at(T0 + timedelta(days=3)).levels == []
    assert sorted(SlaEvent.objects.filter(appeal=appeal).values_list("kind", flat=True)) == ["breach", "level_1", "level_3"]


def test_an_unassigned_appeal_alerts_the_agents_at_an_assignee_level(appeal_types, staff, ten_hours):
    filed(appeal_types, T0)
    sweep_at(T0 + timedelta(hours=5))
    assert set(alerts("SLA 50 %")) == {"agent@example.com", "sup@example.com"}  # supervisors are agents too


def test_types_without_levels_keep_the_default_ladder(appeal_types, staff, ten_hours):
    appeal = filed(appeal_types, T0, code="phone_rebind", state="in_review", assignee=staff["agent"])
    assert not appeal.sla_levels_at and appeal.sla_level_at is None and appeal.sla_stage == 0
    hours = appeal_types["phone_rebind"].sla_hours
    assert sweep_at(T0 + timedelta(hours=hours * 0.75)).warned == [appeal.reference]


def test_national_day_levels_on_the_calendar(appeal_types, staff, two_working_days):  # noqa: F811
    """Today's ladder entered as data on "2 working days, 09:00–18:00": the 75 % level at Fri 10 Oct
    12:30 and the escalation at 17:00 (worked out in test_sla_calendar), not before."""
    ladder(SlaPolicy.objects.get(), (75, "assignee", "alert"), (100, "supervisors", "escalate"))
    appeal = filed(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    assert sweep_at(WARN - timedelta(minutes=1)).levels == []
    assert sweep_at(WARN).levels == [f"{appeal.reference}@75"]
    assert sweep_at(DUE - timedelta(minutes=1)).levels == []
    assert sweep_at(DUE).escalated == [appeal.reference]


def test_a_pause_moves_the_levels_still_to_come(appeal_types, reason_codes, staff, ten_hours):
    appeal = filed(appeal_types, T0, state="in_review", assignee=staff["agent"])
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        agent_services.appeal_request_info(
            appeal=appeal, actor=staff["agent"], message="A clearer photo, please.", requested=[("", "id_back_blurred")]
        )
    assert sweep_at(T0 + timedelta(hours=6)).levels == []  # paused: no level
    with time_machine.travel(T0 + timedelta(hours=7), tick=False):
        appeal_provide_info(appeal=appeal, message="Here.", files=[])
    appeal.refresh_from_db()
    assert appeal.sla_level_at == T0 + timedelta(hours=10)  # 3 h were left to the 50 % level
    assert appeal.sla_due_at == T0 + timedelta(hours=15)


def test_the_public_form_starts_the_levels(client, appeal_types, evidence_root, ten_hours):
    appeal_type = appeal_types["realname_unbind"]
    assert post_appeal(client, appeal_type, submission(appeal_type)).status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.sla_level_at == appeal.created_at + timedelta(hours=5)
    assert len(appeal.sla_levels_at) == 3 and appeal.sla_stage == SLA_LEVELS_BASE


def test_running_the_sweep_twice_acts_once_per_level(appeal_types, staff, ten_hours):
    filed(appeal_types, T0, state="in_review", assignee=staff["agent"])
    sweep_at(T0 + timedelta(hours=16))  # overdue for all three: one level per sweep, in order
    assert SlaEvent.objects.count() == 1
    sweep_at(T0 + timedelta(hours=16))
    sweep_at(T0 + timedelta(hours=16))
    sweep_at(T0 + timedelta(hours=16))
    assert sorted(SlaEvent.objects.values_list("kind", flat=True)) == ["breach", "level_1", "level_3"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("due_count", [1, 30])
def test_two_sweeps_at_once_act_once_per_appeal_and_level(appeal_types, due_count):
    SupervisorFactory(username="sup1", email="sup1@example.com")
    SupervisorFactory(username="sup2", email="sup2@example.com")
    policy = SlaPolicy.objects.create(appeal_type=appeal_types["realname_unbind"], unit="hours", target=10)
    ladder(policy, (100, "supervisors", "escalate"))
    appeals = [filed(appeal_types, timezone.now() - timedelta(hours=11, minutes=i)) for i in range(due_count)]
    reports = two_sweeps_at_once()
    assert sorted(r for report in reports for r in report.escalated) == sorted(a.reference for a in appeals)
    assert_escalated_and_alerted_once(appeals)


# --- Bad input in the admin ---


def policy_form(appeal_types, *levels, **fields) -> dict:
    data = {
        "appeal_type": appeal_types["realname_unbind"].pk,
        "unit": "hours",
        "target": "10",
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": "0",
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
    }
    for i, (position, percent, recipients, action) in enumerate(levels):
        data.update(
            {
                f"levels-{i}-position": position,
                f"levels-{i}-threshold_percent": percent,
                f"levels-{i}-recipients": recipients,
                f"levels-{i}-action": action,
            }
        )
    return {**data, **fields}


def test_admin_saves_a_policy_with_levels_in_order(admin_client, appeal_types):
    data = policy_form(appeal_types, (1, 75, "assignee", "alert"), (2, 100, "supervisors", "escalate"))
    assert admin_client.post(reverse("admin:tickets_slapolicy_add"), data).status_code == 302
    assert list(SlaPolicy.objects.get().levels.values_list("threshold_percent", flat=True)) == [75, 100]


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        (
            [(1, 100, "supervisors", "escalate"), (2, 75, "assignee", "alert")],
            "Escalation levels are out of order: level 2 (75 %) must come after a higher threshold than level 1 (100 %).",
        ),
        (
            [(1, 100, "supervisors", "escalate"), (2, 150, "administrators", "escalate")],
            "Only one escalation level can escalate the appeal.",
        ),
    ],
)
def test_admin_refuses_levels_out_of_order(admin_client, appeal_types, levels, message):
    data = policy_form(appeal_types, *levels)
    response = admin_client.post(reverse("admin:tickets_slapolicy_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not SlaPolicy.objects.exists() and not SlaEscalationLevel.objects.exists()


def test_admin_refuses_working_days_without_a_calendar(admin_client, appeal_types):
    data = policy_form(appeal_types, unit="working_days")
    response = admin_client.post(reverse("admin:tickets_slapolicy_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert "counted on a calendar" in str(response.context["adminform"].form.errors["calendar"])
    assert not SlaPolicy.objects.exists()


def test_a_level_alert_in_chinese(appeal_types, staff, ten_hours, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    filed(appeal_types, T0, state="in_review", assignee=staff["agent"])
    sweep_at(T0 + timedelta(hours=5))
    email = OutboundEmail.objects.get(to="agent@example.com")
    assert email.subject.startswith("时限 50 %：1 件申诉")
    assert "已用去承诺处理时限的 50 %。" in email.body_text

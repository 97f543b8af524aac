"""The SLA clock and its sweep (SPEC §5), with time controlled by time-machine."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory, verify_required_evidence
from tickets.models import Appeal, AppealEvent, OutboundEmail, SlaEvent
from tickets.services import agent as agent_services
from tickets.services.appellant import appeal_provide_info, appeal_reopen
from tickets.sla.sweep import sla_sweep
from tickets.tracking import tracking_token_make

T0 = timezone.now().replace(microsecond=0)


@pytest.fixture
def staff(db):
    return {
        "agent": AgentFactory(username="agent", email="agent@example.com"),
        "agent2": AgentFactory(username="agent2", email="agent2@example.com"),
        "sup1": SupervisorFactory(username="sup1", email="sup1@example.com"),
        "sup2": SupervisorFactory(username="sup2", email="sup2@example.com"),
        "admin": UserFactory(username="root", email="root@example.com", is_superuser=True),
    }


def filed_at(appeal_types, when, code="realname_unbind", **kwargs) -> Appeal:
    appeal_type = appeal_types[code]
    due, warn = appeal_type.sla_times(when)
    return AppealFactory(appeal_type=appeal_type, created_at=when, sla_due_at=due, sla_warn_at=warn, **kwargs)


def sweep_at(moment):
    with time_machine.travel(moment, tick=False):
        return sla_sweep()


def alerts(kind_word: str) -> dict[str, str]:
    return {e.to: e.body_text for e in OutboundEmail.objects.filter(template="sla_alert", subject__icontains=kind_word)}


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # staff alerts are written in the site's language


def test_warning_at_54_hours_goes_to_the_assignee_once(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    assert sweep_at(T0 + timedelta(hours=53, minutes=59)).warned == []
    report = sweep_at(T0 + timedelta(hours=54))
    assert report.warned == [appeal.reference] and report.emails == 1
    assert list(alerts("warning")) == ["agent@example.com"]
    assert appeal.reference in alerts("warning")["agent@example.com"]
    assert f"http://testserver/desk/appeals/{appeal.reference}/" in alerts("warning")["agent@example.com"]
    assert sweep_at(T0 + timedelta(hours=60)).warned == []
    assert SlaEvent.objects.filter(appeal=appeal, kind="warning").count() == 1
    assert OutboundEmail.objects.count() == 1


def test_warning_for_an_unassigned_appeal_goes_to_the_agents(appeal_types, staff):
    filed_at(appeal_types, T0)
    sweep_at(T0 + timedelta(hours=54))
    assert set(alerts("warning")) == {"agent@example.com", "agent2@example.com", "sup1@example.com", "sup2@example.com"}


def test_breach_at_72_hours_escalates_and_alerts_each_supervisor_once(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    sweep_at(T0 + timedelta(hours=54))
    assert sweep_at(T0 + timedelta(hours=71, minutes=59)).breached == []
    report = sweep_at(T0 + timedelta(hours=72))
    assert report.escalated == [appeal.reference]
    appeal.refresh_from_db()
    assert appeal.state == "escalated" and appeal.escalated_at == T0 + timedelta(hours=72)
    event = AppealEvent.objects.get(appeal=appeal, kind="escalate")
    assert (event.actor, event.actor_label, event.from_state) == (None, "system", "in_review")
    assert set(alerts("breached")) == {"sup1@example.com", "sup2@example.com"}
    assert sweep_at(T0 + timedelta(hours=73)).breached == []
    assert AppealEvent.objects.filter(appeal=appeal, kind="escalate").count() == 1
    assert OutboundEmail.objects.filter(subject__icontains="breached").count() == 2


def test_an_overdue_appeal_never_warned_gets_only_the_breach(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    report = sweep_at(T0 + timedelta(hours=80))  # the sweeps were down for a day
    assert (report.warned, report.breached) == ([], [appeal.reference])


def test_second_breach_24_hours_after_escalation_alerts_administrators(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    sweep_at(T0 + timedelta(hours=72))
    assert sweep_at(T0 + timedelta(hours=95, minutes=59)).second_breached == []
    assert sweep_at(T0 + timedelta(hours=96)).second_breached == [appeal.reference]
    assert list(alerts("24 h after escalation")) == ["root@example.com"]
    assert sweep_at(T0 + timedelta(hours=120)).second_breached == []


def test_pause_in_awaiting_info_shifts_the_clock(appeal_types, staff, reason_codes):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    with time_machine.travel(T0 + timedelta(hours=10), tick=False):
        agent_services.appeal_request_info(
            appeal=appeal, actor=staff["agent"], message="A clearer photo, please.", requested=[("", "id_front_blurred")]
        )
    assert sweep_at(T0 + timedelta(hours=73)).breached == []  # paused: no breach while we wait on them
    with time_machine.travel(T0 + timedelta(hours=40), tick=False):
        appeal_provide_info(appeal=appeal, message="Here.", files=[])
    appeal.refresh_from_db()
    assert appeal.sla_due_at == T0 + timedelta(hours=102)
    assert appeal.sla_warn_at == T0 + timedelta(hours=84)
    assert sweep_at(T0 + timedelta(hours=83, minutes=59)).warned == []
    assert sweep_at(T0 + timedelta(hours=84)).warned == [appeal.reference]
    assert sweep_at(T0 + timedelta(hours=101, minutes=59)).breached == []
    assert sweep_at(T0 + timedelta(hours=102)).breached == [appeal.reference]


def test_a_decision_stops_the_clock(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, code="access_card_unbind", state="in_review", assignee=staff["agent"])
    verify_required_evidence(appeal, by=staff["agent"])
    with time_machine.travel(T0 + timedelta(hours=5), tick=False):
        agent_services.appeal_approve(appeal=appeal, actor=staff["agent"])
    report = sweep_at(T0 + timedelta(hours=100))
    assert (report.warned, report.breached) == ([], [])
    appeal.refresh_from_db()
    assert appeal.closed_at <= appeal.sla_due_at  # met: the record stays for the metrics


def test_reopen_starts_a_new_cycle_with_its_own_alerts(appeal_types, staff, reason_codes):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    sweep_at(T0 + timedelta(hours=72))  # breach, escalated, cycle 1
    with time_machine.travel(T0 + timedelta(hours=73), tick=False):
        agent_services.appeal_reject(
            appeal=appeal, actor=staff["sup1"], reason="Photo of someone else.", reason_code="holder_mismatch"
        )
    reopened_at = T0 + timedelta(hours=80)
    with time_machine.travel(reopened_at, tick=False):
        appeal_reopen(appeal=appeal, message="Right photo now.", files=[])
    appeal.refresh_from_db()
    assert (appeal.state, appeal.sla_cycle, appeal.sla_stage) == ("submitted", 2, 0)
    assert appeal.sla_due_at == reopened_at + timedelta(hours=72)
    assert sweep_at(reopened_at + timedelta(hours=54)).warned == [appeal.reference]
    assert sweep_at(reopened_at + timedelta(hours=72)).escalated == [appeal.reference]
    assert list(SlaEvent.objects.filter(appeal=appeal, kind="breach").values_list("cycle", flat=True)) == [1, 2]


def test_emergency_freeze_has_a_2_hour_target(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, code="emergency_freeze")
    assert appeal.sla_due_at == T0 + timedelta(hours=2)
    assert sweep_at(T0 + timedelta(minutes=89)).warned == []
    assert sweep_at(T0 + timedelta(minutes=90)).warned == [appeal.reference]
    assert sweep_at(T0 + timedelta(hours=2)).escalated == [appeal.reference]


def test_many_breaches_in_one_sweep_make_one_email_per_recipient(appeal_types, staff):
    appeals = [filed_at(appeal_types, T0 - timedelta(minutes=i)) for i in range(5)]
    report = sweep_at(T0 + timedelta(hours=72))
    assert len(report.escalated) == 5
    breach_mails = alerts("breached")
    assert set(breach_mails) == {"sup1@example.com", "sup2@example.com"}
    for body in breach_mails.values():
        assert all(a.reference in body for a in appeals)
    assert OutboundEmail.objects.get(to="sup1@example.com").subject == "SLA breached: 5 appeals escalated"


def test_manually_escalated_appeal_is_alerted_at_breach_but_not_escalated_again(appeal_types, staff):
    appeal = filed_at(appeal_types, T0, state="in_review", assignee=staff["agent"])
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        agent_services.appeal_escalate(appeal=appeal, actor=staff["agent"], comment="Looks forged.")
    report = sweep_at(T0 + timedelta(hours=72))
    assert report.breached == [appeal.reference] and report.escalated == []
    assert AppealEvent.objects.filter(appeal=appeal, kind="escalate").count() == 1


def test_running_the_sweep_twice_acts_once(appeal_types, staff):
    appeal = filed_at(appeal_types, T0)
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        first, second = sla_sweep(), sla_sweep()
    assert (first.escalated, second.escalated) == ([appeal.reference], [])
    assert AppealEvent.objects.filter(appeal=appeal, kind="escalate").count() == 1
    assert sorted(OutboundEmail.objects.values_list("to", flat=True)) == ["sup1@example.com", "sup2@example.com"]


def two_sweeps_at_once() -> list:
    """Two sweeps started together on two connections (a transactional test): both reports."""
    barrier = threading.Barrier(2)
    reports = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            reports.append(sla_sweep())
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 2
    return reports


def assert_escalated_and_alerted_once(appeals) -> None:
    """Each appeal escalated, recorded and e-mailed to each supervisor exactly once."""
    due_count = len(appeals)
    assert AppealEvent.objects.filter(kind="escalate").count() == due_count
    assert SlaEvent.objects.filter(kind="breach").count() == due_count
    for recipient in ("sup1@example.com", "sup2@example.com"):
        bodies = list(OutboundEmail.objects.filter(to=recipient).values_list("body_text", flat=True))
        for appeal in appeals:
            assert sum(appeal.reference in body for body in bodies) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("due_count", [1, 30])
def test_two_sweeps_at_once_act_once_per_appeal(appeal_types, due_count):
    SupervisorFactory(username="sup1", email="sup1@example.com")
    SupervisorFactory(username="sup2", email="sup2@example.com")
    appeals = [filed_at(appeal_types, timezone.now() - timedelta(hours=73, minutes=i)) for i in range(due_count)]
    reports = two_sweeps_at_once()
    escalated = sorted(r for report in reports for r in report.escalated)
    assert escalated == sorted(a.reference for a in appeals)  # each exactly once
    assert_escalated_and_alerted_once(appeals)
    if due_count == 1:
        assert OutboundEmail.objects.count() == 2  # one e-mail per recipient


def test_sweep_sla_command_prints_what_it_did(appeal_types, staff, capsys):
    appeal = filed_at(appeal_types, T0)
    with time_machine.travel(T0 + timedelta(hours=72), tick=False):
        call_command("sweep_sla")
    out = capsys.readouterr().out
    assert "breached 1 (escalated 1)" in out and appeal.reference in out


def test_status_page_shows_complaint_rights_only_after_a_breach(en_client, appeal_types, staff, settings):
    settings.SLA_COMPLAINT_TEXT = {"en": "You may complain to the regulator (12363).", "zh-hans": "您可以投诉（12363）。"}
    appeal = filed_at(appeal_types, T0)
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    with time_machine.travel(T0 + timedelta(hours=71), tick=False):
        assert "12363" not in en_client.get(url).content.decode()
    sweep_at(T0 + timedelta(hours=72))
    with time_machine.travel(T0 + timedelta(hours=73), tick=False):
        page = en_client.get(url).content.decode()
        assert "You may complain to the regulator (12363)." in page
        assert "您可以投诉（12363）。" in en_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_due_soon_queue_lists_appeals_due_within_12_hours(client, appeal_types, staff):
    soon = filed_at(appeal_types, T0 - timedelta(hours=62))
    later = filed_at(appeal_types, T0 - timedelta(hours=50))
    client.force_login(staff["agent"])
    with time_machine.travel(T0, tick=False):
        rows = client.get(reverse("desk:queue"), {"queue": "due_soon"}).context["page"].rows
    assert [a.reference for a in rows] == [soon.reference]
    assert later.reference not in [a.reference for a in rows]

"""SLA policies on a working calendar: China's statutory holidays and make-up working days, business
hours, the admin's overrides, and a year the calendar data does not cover yet."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tests.tickets.factories import AgentFactory, SupervisorFactory, UserFactory, submission
from tests.tickets.test_appeal_submit import post_appeal
from tests.tickets.test_sla import alerts, filed_at, sweep_at
from tickets.models import Appeal, OutboundEmail, SlaCalendar, SlaCalendarDay, SlaCalendarGap, SlaEvent, SlaPolicy
from tickets.outbox.services import outbox_deliver
from tickets.services import agent as agent_services
from tickets.services.appellant import appeal_provide_info
from tickets.sla.coverage import sla_calendar_coverage_alert
from tickets.sla.tasks import sla_sweep as sla_sweep_task
from tickets.tracking import tracking_token_make
from tickets.working_calendar import WorkingCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def staff(db):
    return {
        "agent": AgentFactory(username="agent", email="agent@example.com"),
        "sup": SupervisorFactory(username="sup", email="sup@example.com"),
        "admin": UserFactory(username="root", email="root@example.com", is_superuser=True),
    }


@pytest.fixture
def two_working_days(appeal_types):
    """realname_unbind: 2 working days, 09:00–18:00 Beijing time, on China's statutory calendar."""
    calendar = SlaCalendar.objects.create(name="Beijing office", work_start=time(9), work_end=time(18))
    SlaPolicy.objects.create(appeal_type=appeal_types["realname_unbind"], calendar=calendar, unit="working_days", target=2)
    return calendar


# Filed Tuesday 30 September 2025 at 17:00, under "2 working days, 09:00–18:00":
#   a working day is 9 working hours, so the target is 18 working hours and the warning (75 %) 13.5.
#   Tue 30 Sep 17:00–18:00            1 h  (total  1)
#   Wed 1 Oct – Wed 8 Oct              National Day and Mid-Autumn holiday: 0 h
#   Thu 9 Oct 09:00–18:00              9 h  (total 10)
#   Fri 10 Oct 09:00–12:30           3.5 h  (total 13.5)  -> warning at Fri 10 Oct 12:30
#   Fri 10 Oct 12:30–17:00           4.5 h  (total 18)    -> due at Fri 10 Oct 17:00
# (Sunday 28 September was a make-up working day, before the filing; Saturday 11 October is one too,
#  after the due time: the pause test below reaches it.)
FILED = at(2025, 9, 30, 17, 0)
WARN = at(2025, 10, 10, 12, 30)
DUE = at(2025, 10, 10, 17, 0)


def test_the_statutory_calendar_knows_national_day_2025_and_its_make_up_days():
    calendar = WorkingCalendar(timezone="Asia/Shanghai", work_start=time(9), work_end=time(18))
    assert calendar.is_working_day(at(2025, 9, 28).date())  # Sunday, make-up working day
    assert not any(calendar.is_working_day(at(2025, 10, day).date()) for day in range(1, 9))
    assert calendar.is_working_day(at(2025, 10, 11).date())  # Saturday, make-up working day
    assert calendar.uncovered == set()


def test_national_day_week_due_and_warning_instants(appeal_types, staff, two_working_days):
    """Worked out by hand above: warning Fri 10 Oct 12:30, due Fri 10 Oct 17:00 (Beijing time)."""
    appeal = filed_at(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    assert (appeal.sla_warn_at, appeal.sla_due_at) == (WARN, DUE)


def test_the_sweep_warns_and_escalates_at_those_instants_not_before(appeal_types, staff, two_working_days):
    appeal = filed_at(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    assert sweep_at(at(2025, 10, 3, 12, 0)).warned == []  # 66 wall-clock hours later: a holiday
    assert sweep_at(WARN - timedelta(minutes=1)).warned == []
    assert sweep_at(WARN).warned == [appeal.reference]
    assert list(alerts("warning")) == ["agent@example.com"]
    assert sweep_at(DUE - timedelta(minutes=1)).breached == []
    report = sweep_at(DUE)
    assert report.breached == [appeal.reference] and report.escalated == [appeal.reference]
    appeal.refresh_from_db()
    assert appeal.state == "escalated"
    assert sweep_at(DUE + timedelta(hours=1)).breached == []
    assert SlaEvent.objects.filter(appeal=appeal).count() == 2


def test_a_pause_keeps_the_working_time_left_and_counts_the_make_up_saturday(appeal_types, reason_codes, staff, two_working_days):
    """Paused Thu 9 Oct 10:00 after 2 working hours (1 on 30 Sep, 1 on 9 Oct): 16 h left to the due
    time, 11.5 h to the warning. Resumed Sat 11 Oct 09:00, a make-up working day: 9 h that day, Sunday
    off, then Mon 13 Oct: the warning 2.5 h in (11:30), the due time 7 h in (16:00)."""
    appeal = filed_at(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    with time_machine.travel(at(2025, 10, 9, 10, 0), tick=False):
        agent_services.appeal_request_info(
            appeal=appeal, actor=staff["agent"], message="A clearer photo, please.", requested=[("", "id_back_blurred")]
        )
    with time_machine.travel(at(2025, 10, 11, 9, 0), tick=False):
        appeal_provide_info(appeal=appeal, message="Here.", files=[])
    appeal.refresh_from_db()
    assert (appeal.sla_warn_at, appeal.sla_due_at) == (at(2025, 10, 13, 11, 30), at(2025, 10, 13, 16, 0))


def test_the_appellant_is_promised_the_calendar_time(client, appeal_types, evidence_root, two_working_days):
    appeal_type = appeal_types["realname_unbind"]
    with time_machine.travel(FILED, tick=False):
        assert post_appeal(client, appeal_type, submission(appeal_type)).status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.sla_due_at == DUE
    acknowledgement = OutboundEmail.objects.get(appeal=appeal, template="acknowledgement")
    assert outbox_deliver(email_id=acknowledgement.pk)
    acknowledgement.refresh_from_db()
    assert "2025-10-10 17:00" in acknowledgement.body_text
    with time_machine.travel(FILED + timedelta(hours=1), tick=False):
        token = tracking_token_make(appeal.reference)
        page = client.get(reverse("tickets:status", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    assert "2025-10-10 17:00" in page.content.decode()


def test_appeal_types_without_a_policy_keep_wall_clock_hours(appeal_types, two_working_days):
    due, warn = appeal_types["emergency_freeze"].sla_times(FILED)
    assert (due, warn) == (FILED + timedelta(hours=2), FILED + timedelta(hours=1.5))


def test_working_hours_policy_and_a_company_day_off(appeal_types, two_working_days):
    """4 working hours from Thu 9 Oct 16:00: 2 h that day; Fri 10 Oct is a company day off; Sat 11 Oct
    (make-up working day) 09:00 + 2 h = 11:00."""
    SlaCalendarDay.objects.create(calendar=two_working_days, date=at(2025, 10, 10).date(), is_working_day=False)
    SlaPolicy.objects.filter(calendar=two_working_days).update(unit="working_hours", target=4)
    due, _warn = appeal_types["realname_unbind"].sla_times(at(2025, 10, 9, 16, 0))
    assert due == at(2025, 10, 11, 11, 0)


# --- A year chinesecalendar does not know yet (1.11.0 knows up to 2026) ---


def test_an_uncovered_year_still_has_due_times_on_weekends_and_overrides(appeal_types, two_working_days):
    """Fri 8 Jan 2027 17:00, 2 working days (18 h): 1 h on Friday; the weekend off; Mon 11 Jan a company
    day off (an override); Tue 12 Jan 9 h, Wed 13 Jan 8 h -> due Wed 13 Jan 17:00."""
    SlaCalendarDay.objects.create(calendar=two_working_days, date=at(2027, 1, 11).date(), is_working_day=False)
    due, _warn = appeal_types["realname_unbind"].sla_times(at(2027, 1, 8, 17, 0))
    assert due == at(2027, 1, 13, 17, 0)


def test_administrators_are_warned_about_an_uncovered_year_once(
    admin_client, client, appeal_types, staff, two_working_days, celery_ping_cached
):
    with time_machine.travel(at(2027, 3, 1, 10, 0), tick=False):
        assert sla_calendar_coverage_alert() == [2027, 2028]
        assert sla_calendar_coverage_alert() == []  # once per year
        emails = OutboundEmail.objects.filter(template="sla_calendar_uncovered")
        assert {e.to for e in emails} >= {"root@example.com"}
        assert not emails.exclude(to__in=["root@example.com", "admin@example.com"]).exists()  # no agents
        assert "2027" in emails.first().subject
        assert list(SlaCalendarGap.objects.values_list("year", flat=True)) == [2027, 2028]
    # Pages are checked in real time (the admin's session would have expired in 2027): the package
    # knows 2026, not 2027 -- so the warning is there today, for next year.
    with time_machine.travel(at(2026, 11, 30, 10, 0), tick=False):
        page = admin_client.get(reverse("admin:tickets_slacalendar_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        assert "no statutory holidays for 2027 yet" in page.content.decode()
        page = admin_client.get(reverse("admin:tickets_slapolicy_changelist"), HTTP_ACCEPT_LANGUAGE="en")
        assert "no statutory holidays for 2027 yet" in page.content.decode()
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["sla_calendar"].startswith("warning: no statutory holidays for 2027 ")


def test_the_beat_task_alerts_an_uncovered_year(appeal_types, staff, two_working_days):
    with time_machine.travel(at(2027, 3, 1, 10, 0), tick=False):
        sla_sweep_task()
        sla_sweep_task()
    assert OutboundEmail.objects.filter(template="sla_calendar_uncovered", to="root@example.com").count() == 2  # 2027, 2028


def test_no_warning_while_the_years_are_covered(client, appeal_types, two_working_days, celery_ping_cached):
    with time_machine.travel(at(2025, 3, 1, 10, 0), tick=False):
        assert sla_calendar_coverage_alert() == []
        assert "sla_calendar" not in client.get("/healthz").json()
    assert not OutboundEmail.objects.exists()


def test_no_warning_without_a_calendar_in_use(appeal_types):
    with time_machine.travel(at(2027, 3, 1, 10, 0), tick=False):
        SlaCalendar.objects.create(name="unused")
        assert sla_calendar_coverage_alert() == []


# --- Bad input in the admin ---

NO_LEVELS = {"levels-TOTAL_FORMS": "0", "levels-INITIAL_FORMS": "0", "levels-MIN_NUM_FORMS": "0", "levels-MAX_NUM_FORMS": "9"}


def calendar_form(**fields) -> dict:
    """The admin's add form for a calendar: 09:00-18:00 Beijing time, statutory holidays, no days."""
    data = {
        "name": "Beijing office",
        "timezone": "Asia/Shanghai",
        "work_start": "09:00",
        "work_end": "18:00",
        "statutory_holidays": "on",
        "days-TOTAL_FORMS": "0",
        "days-INITIAL_FORMS": "0",
        "days-MIN_NUM_FORMS": "0",
        "days-MAX_NUM_FORMS": "1000",
    }
    return {**data, **fields}


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("09:00", "09:00", "A calendar needs working hours: the end must be after the start."),
        ("18:00", "09:00", "The working hours are inverted: they end (09:00) before they start (18:00)."),
    ],
)
def test_admin_refuses_a_calendar_without_working_hours(admin_client, db, start, end, message):
    data = calendar_form(name="Broken", work_start=start, work_end=end)
    response = admin_client.post(reverse("admin:tickets_slacalendar_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors["work_end"])
    assert SlaCalendar.objects.count() == 0


def test_admin_refuses_an_unknown_time_zone(admin_client, db):
    data = calendar_form(name="Mars", timezone="Mars/Olympus")
    response = admin_client.post(reverse("admin:tickets_slacalendar_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert "Unknown time zone" in str(response.context["adminform"].form.errors["timezone"])
    assert SlaCalendar.objects.count() == 0


def test_admin_creates_a_calendar_with_a_day_off_and_a_policy(admin_client, appeal_types):
    data = calendar_form(**{"days-TOTAL_FORMS": "1", "days-0-date": "2025-10-10", "days-0-note": "Company day"})
    assert admin_client.post(reverse("admin:tickets_slacalendar_add"), data).status_code == 302
    calendar = SlaCalendar.objects.get()
    assert list(calendar.days.values_list("date", "is_working_day")) == [(at(2025, 10, 10).date(), False)]
    policy = {"appeal_type": appeal_types["realname_unbind"].pk, "calendar": calendar.pk, "unit": "working_days", "target": "2"}
    policy.update(NO_LEVELS)
    assert admin_client.post(reverse("admin:tickets_slapolicy_add"), policy).status_code == 302
    assert SlaPolicy.objects.get().target == 2


def test_admin_refuses_a_zero_target(admin_client, appeal_types, two_working_days):
    SlaPolicy.objects.all().delete()
    policy = {
        "appeal_type": appeal_types["realname_unbind"].pk,
        "calendar": two_working_days.pk,
        "unit": "working_days",
        "target": "0",
        **NO_LEVELS,
    }
    response = admin_client.post(reverse("admin:tickets_slapolicy_add"), policy, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and "target" in response.context["adminform"].form.errors
    assert not SlaPolicy.objects.exists()

# ruff: noqa: F811 -- the fixtures imported from test_sla_calendar are arguments of the tests below
"""The first-response target beside the resolution target: the first public reply or request for
information, due on the policy's calendar, alerted once when missed."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.tickets.test_sla import alerts, sweep_at
from tests.tickets.test_sla_calendar import FILED, NO_LEVELS, at, english, staff, two_working_days  # noqa: F401
from tests.tickets.test_sla_levels import filed
from tickets.models import SlaEvent, SlaPolicy
from tickets.services import agent as agent_services
from tickets.services.appellant import appeal_provide_info

# Filed Tue 30 Sep 2025 17:00 with a first response within 2 working hours (09:00–18:00): 1 h on
# 30 Sep, nothing 1–8 Oct (National Day), 1 h on Thu 9 Oct -> due Thu 9 Oct 10:00.
FIRST_RESPONSE_DUE = at(2025, 10, 9, 10, 0)


@pytest.fixture
def two_hours_first(two_working_days):
    """Resolution within 18 working hours (the 2 working days of test_sla_calendar), first response within 2."""
    SlaPolicy.objects.update(unit="working_hours", target=18, first_response_target=2)
    return SlaPolicy.objects.get()


def test_first_response_due_on_the_calendar_and_alerted_once(appeal_types, staff, two_hours_first):
    appeal = filed(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    assert appeal.sla_first_response_due_at == FIRST_RESPONSE_DUE
    assert sweep_at(FIRST_RESPONSE_DUE - timedelta(minutes=1)).first_response_missed == []
    assert sweep_at(FIRST_RESPONSE_DUE).first_response_missed == [appeal.reference]
    assert list(alerts("first response")) == ["agent@example.com"]
    assert sweep_at(FIRST_RESPONSE_DUE + timedelta(hours=1)).first_response_missed == []
    assert SlaEvent.objects.filter(appeal=appeal, kind="first_response").count() == 1


def test_a_public_reply_is_the_first_response(appeal_types, staff, two_hours_first):
    appeal = filed(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    with time_machine.travel(at(2025, 9, 30, 17, 30), tick=False):
        agent_services.appeal_comment(appeal=appeal, actor=staff["agent"], text="We are on it.", public=True)
    appeal.refresh_from_db()
    assert appeal.first_responded_at == at(2025, 9, 30, 17, 30)
    assert sweep_at(FIRST_RESPONSE_DUE).first_response_missed == []


def test_an_internal_note_is_not(appeal_types, staff, two_hours_first):
    appeal = filed(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    agent_services.appeal_comment(appeal=appeal, actor=staff["agent"], text="Looks fine.", public=False)
    assert sweep_at(FIRST_RESPONSE_DUE).first_response_missed == [appeal.reference]


def test_a_request_for_information_is_the_first_response(appeal_types, reason_codes, staff, two_hours_first):
    appeal = filed(appeal_types, FILED, state="in_review", assignee=staff["agent"])
    with time_machine.travel(at(2025, 10, 9, 9, 30), tick=False):
        agent_services.appeal_request_info(
            appeal=appeal, actor=staff["agent"], message="A clearer photo, please.", requested=[("", "id_back_blurred")]
        )
    appeal.refresh_from_db()
    assert appeal.first_responded_at == at(2025, 10, 9, 9, 30)
    with time_machine.travel(at(2025, 10, 9, 11, 0), tick=False):
        appeal_provide_info(appeal=appeal, message="Here.", files=[])
    assert sweep_at(FIRST_RESPONSE_DUE + timedelta(hours=2)).first_response_missed == []


def test_no_target_no_first_response_clock(appeal_types, two_working_days):
    appeal = filed(appeal_types, FILED)
    assert appeal.sla_first_response_due_at is None


def test_admin_refuses_a_first_response_not_before_the_resolution(admin_client, appeal_types, two_working_days):
    SlaPolicy.objects.all().delete()
    data = {
        "appeal_type": appeal_types["realname_unbind"].pk,
        "calendar": two_working_days.pk,
        "unit": "working_days",
        "target": "2",
        "first_response_target": "2",
        **NO_LEVELS,
    }
    response = admin_client.post(reverse("admin:tickets_slapolicy_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert "The first response must be due before the resolution target." in str(
        response.context["adminform"].form.errors["first_response_target"]
    )
    assert not SlaPolicy.objects.exists()

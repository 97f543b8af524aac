"""`GET /api/v1/appeals/<reference>/`: an appeal's public status, for the integration that filed it only."""

import time_machine
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from integrations.models import Integration
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.events import appeal_submitted_event
from tickets.services.agent import appeal_propose_approval, appeal_second_approve
from tickets.services.hold import release_sweep

from .conftest import api_key_issue, assert_error


def detail(reference: str) -> str:
    return reverse("api:appeal-detail", args=[reference])


def test_the_platform_reads_its_appeals_public_status(api, api_key, integration, appeal_types):
    appeal = AppealFactory(integration=integration, contact_email="private@example.com")
    appeal_submitted_event(appeal=appeal)

    response = api(api_key).get(detail(appeal.reference))

    assert response.status_code == 200
    status = response.json()
    assert status["reference"] == appeal.reference
    assert status["type"] == "realname_unbind"
    assert status["state"] == "submitted"
    assert status["closed_at"] is None
    assert [event["kind"] for event in status["events"]] == ["submit"]
    assert "private@example.com" not in response.content.decode()


def test_another_integrations_appeal_is_404_like_one_that_does_not_exist(api, api_key, appeal_types):
    theirs = AppealFactory(integration=Integration.objects.create(name="Bank"))
    assert_error(api(api_key).get(detail(theirs.reference)), 404, "not_found")
    assert_error(api(api_key).get(detail("AP-NONE-NONE")), 404, "not_found")


def test_a_portal_appeal_only_for_an_integration_that_receives_them(api, integration, appeal_types):
    key = api_key_issue(integration)
    portal = AppealFactory(integration=None)
    assert_error(api(key).get(detail(portal.reference)), 404, "not_found")
    integration.receives_portal_appeals = True
    integration.save()
    assert api(key).get(detail(portal.reference)).status_code == 200


def test_a_held_approval_says_when_it_is_released_and_a_released_one_does_not(api, api_key, integration, appeal_types):
    agent, supervisor = AgentFactory(), SupervisorFactory()
    appeal = AppealFactory(integration=integration, state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    appeal_propose_approval(appeal=appeal, actor=agent, code_matches=True)
    appeal_second_approve(appeal=appeal, actor=supervisor, code_matches=True)
    appeal.refresh_from_db()

    held = api(api_key).get(detail(appeal.reference)).json()
    assert held["fulfilment"] == "held"
    assert parse_datetime(held["hold_until"]) == appeal.hold_until and held["released_at"] is None

    with time_machine.travel(appeal.hold_until):
        release_sweep()
    released = api(api_key).get(detail(appeal.reference)).json()
    assert released["fulfilment"] == "released" and released["hold_until"] is None and released["released_at"]

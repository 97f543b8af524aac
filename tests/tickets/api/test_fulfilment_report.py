"""`POST /api/v1/appeals/<reference>/fulfilment/`: the platform reports an approval carried out, or not."""

import json

import pytest
from django.core import mail
from django.urls import reverse

from integrations.models import Integration, Scope
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.models import AppealEvent, OutboundEmail
from tickets.services import agent as agent_services

from .conftest import api_key_issue, assert_error

pytestmark = pytest.mark.django_db


def report_url(reference: str) -> str:
    return reverse("api:fulfilment-report", args=[reference])


def post_json(api_client, url: str, body: dict):
    return api_client.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def approved(integration, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(
        integration=integration, appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent
    )
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_approve(appeal=appeal, actor=SupervisorFactory())
    appeal.refresh_from_db()
    assert appeal.fulfilment == "released"
    return appeal


def _staff_and_appellant_mail() -> list[str]:
    return list(OutboundEmail.objects.order_by("pk").values_list("template", flat=True))


def test_done_is_recorded_and_the_appellant_is_told_once_however_often_it_is_sent(api, api_key, approved):
    before = _staff_and_appellant_mail()
    first = post_json(api(api_key), report_url(approved.reference), {"outcome": "done", "detail": "Card unbound."})
    assert first.status_code == 200, first.content
    assert first.json()["fulfilment"] == "done" and first.json()["fulfilment_reported_at"]
    again = post_json(api(api_key), report_url(approved.reference), {"outcome": "done"})  # the platform's retry
    assert again.status_code == 200 and again.json()["fulfilment"] == "done"
    approved.refresh_from_db()
    assert (approved.fulfilment, approved.fulfilment_detail) == ("done", "Card unbound.")
    assert _staff_and_appellant_mail()[len(before) :] == ["fulfilment_reported"]
    assert AppealEvent.objects.filter(appeal=approved, kind=AppealEvent.Kind.FULFILMENT_DONE).count() == 1


def test_failed_alerts_the_staff_and_done_may_follow(api, api_key, approved):
    response = post_json(api(api_key), report_url(approved.reference), {"outcome": "failed", "detail": "Card service down."})
    assert response.status_code == 200 and response.json()["fulfilment"] == "failed"
    assert "fulfilment_alert" in _staff_and_appellant_mail()
    assert post_json(api(api_key), report_url(approved.reference), {"outcome": "done"}).json()["fulfilment"] == "done"


def test_an_undecided_appeal_is_409_and_nothing_is_stored(api, api_key, integration, appeal_types):
    appeal = AppealFactory(integration=integration, state="in_review")
    events, emails = AppealEvent.objects.count(), OutboundEmail.objects.count()
    error = assert_error(post_json(api(api_key), report_url(appeal.reference), {"outcome": "done"}), 409, "conflict")
    assert "not been released" in error["message"]
    appeal.refresh_from_db()
    assert appeal.fulfilment == "not_released" and appeal.fulfilment_reported_at is None
    assert (AppealEvent.objects.count(), OutboundEmail.objects.count()) == (events, emails)
    assert not mail.outbox


def test_a_bad_outcome_is_400_naming_the_field_and_nothing_is_stored(api, api_key, approved):
    error = assert_error(post_json(api(api_key), report_url(approved.reference), {"outcome": "maybe"}), 400, "invalid")
    assert "outcome" in error["fields"]
    approved.refresh_from_db()
    assert approved.fulfilment == "released"


def test_without_the_fulfilment_scope_it_is_403(api, integration, approved):
    key = api_key_issue(integration, scopes=[Scope.APPEALS_READ, Scope.APPEALS_WRITE])
    assert_error(post_json(api(key), report_url(approved.reference), {"outcome": "done"}), 403, "permission_denied")
    approved.refresh_from_db()
    assert approved.fulfilment == "released"


def test_another_integrations_appeal_is_404(api, approved):
    other = api_key_issue(Integration.objects.create(name="Bank"))
    assert_error(post_json(api(other), report_url(approved.reference), {"outcome": "done"}), 404, "not_found")
    approved.refresh_from_db()
    assert approved.fulfilment == "released"

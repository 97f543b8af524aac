"""Integration events written by the tickets services, in their transactions, with one delivery per
subscription that wants them."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent, WebhookDelivery, WebhookSubscription
from integrations.webhooks.services import integration_event_record
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, submission, verify_required_evidence
from tickets.models import Appeal
from tickets.services import agent as agent_services
from tickets.services.appellant import appeal_withdraw
from tickets.services.errors import WorkflowError
from tickets.services.hold import release_sweep
from tickets.sla.sweep import sla_sweep

pytestmark = pytest.mark.django_db

ALL = [t.value for t in IntegrationEvent.Type]


def _subscribe(integration, types=ALL, **kwargs):
    return WebhookSubscription.objects.create(
        integration=integration, url="https://hooks.example.com/in", event_types=types, **kwargs
    )


def _events(appeal) -> list[str]:
    return list(IntegrationEvent.objects.filter(appeal=appeal).order_by("id").values_list("type", flat=True))


@pytest.fixture
def platform(db):
    return Integration.objects.create(name="PayApp")


def test_the_appeals_integration_hears_of_it_and_no_other(appeal_types, platform):
    other = Integration.objects.create(name="Bank", receives_portal_appeals=True)
    mine, theirs = _subscribe(platform), _subscribe(other)
    _subscribe(platform, types=["appeal.withdrawn"])  # does not want decisions
    _subscribe(platform, is_active=False)  # disabled
    appeal = AppealFactory(integration=platform)

    event = integration_event_record(type="appeal.decided", appeal=appeal)

    assert event.integration == platform
    assert list(WebhookDelivery.objects.values_list("subscription", flat=True)) == [mine.pk]
    assert theirs.pk not in WebhookDelivery.objects.values_list("subscription", flat=True)


def test_a_public_form_appeal_goes_to_the_integrations_receiving_portal_appeals(appeal_types, platform):
    portal = Integration.objects.create(name="Bank", receives_portal_appeals=True)
    receiving = _subscribe(portal)
    _subscribe(platform)
    inactive = Integration.objects.create(name="Old", receives_portal_appeals=True, is_active=False)
    _subscribe(inactive)

    event = integration_event_record(type="appeal.submitted", appeal=AppealFactory())

    assert event.integration is None
    assert list(WebhookDelivery.objects.values_list("subscription", flat=True)) == [receiving.pk]


def test_an_event_without_subscriptions_is_still_recorded_for_polling(appeal_types, platform):
    integration_event_record(type="appeal.submitted", appeal=AppealFactory(integration=platform))
    assert IntegrationEvent.objects.count() == 1
    assert WebhookDelivery.objects.count() == 0


def test_filing_on_the_form_records_appeal_submitted(client, appeal_types):
    portal = Integration.objects.create(name="Bank", receives_portal_appeals=True)
    _subscribe(portal)
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert _events(appeal) == ["appeal.submitted"]
    event = IntegrationEvent.objects.get()
    assert event.data["reference"] == appeal.reference and event.data["state"] == "submitted"
    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_request_info_and_the_decisions_record_their_events(appeal_types, platform, reason_codes):
    agent, supervisor, supervisor2 = AgentFactory(), SupervisorFactory(), SupervisorFactory()
    asked = AppealFactory(integration=platform, state="in_review", assignee=agent)
    agent_services.appeal_request_info(
        appeal=asked, actor=agent, message="Send a clearer photo.", requested=[("", "id_back_blurred")]
    )
    assert _events(asked) == ["appeal.info_requested"]

    approved = AppealFactory(
        integration=platform, appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent
    )
    verify_required_evidence(approved, by=agent)
    agent_services.appeal_approve(appeal=approved, actor=supervisor, comment="Unbound today.")
    assert _events(approved) == ["appeal.decided", "appeal.released"]  # an approval is released at once
    data = IntegrationEvent.objects.get(appeal=approved, type="appeal.decided").data
    assert (data["decision"], data["decision_reason"], data["decision_reason_code"]) == ("approved", "Unbound today.", None)
    assert data["decided_at"]

    high_risk = AppealFactory(integration=platform, state="in_review", assignee=agent)
    verify_required_evidence(high_risk, by=agent)
    agent_services.appeal_propose_approval(appeal=high_risk, actor=supervisor, code_matches=True)
    assert _events(high_risk) == []  # a proposal decides nothing
    agent_services.appeal_second_approve(appeal=high_risk, actor=supervisor2, code_matches=True)
    assert _events(high_risk) == ["appeal.decided", "appeal.held"]  # a high-risk approval waits out its hold
    assert IntegrationEvent.objects.get(appeal=high_risk, type="appeal.held").data["hold_until"]
    high_risk.refresh_from_db()
    with time_machine.travel(high_risk.hold_until):
        release_sweep()
    assert _events(high_risk) == ["appeal.decided", "appeal.held", "appeal.released"]

    rejected = AppealFactory(integration=platform, state="in_review", assignee=agent)
    agent_services.appeal_reject(appeal=rejected, actor=agent, reason="The photos do not match.", reason_code="holder_mismatch")
    data = IntegrationEvent.objects.get(appeal=rejected).data
    assert (data["decision"], data["decision_reason"], data["decision_reason_code"]) == (
        "rejected",
        "The photos do not match.",
        "holder_mismatch",
    )

    claimed = AppealFactory(integration=platform)
    agent_services.appeal_claim(appeal=claimed, actor=agent)
    assert _events(claimed) == []


def test_a_refused_action_records_no_event(appeal_types, platform):
    _subscribe(platform)
    appeal = AppealFactory(integration=platform, state="in_review", assignee=AgentFactory())
    with pytest.raises(WorkflowError):
        agent_services.appeal_approve(appeal=appeal, actor=SupervisorFactory())  # evidence not verified
    assert IntegrationEvent.objects.count() == 0 and WebhookDelivery.objects.count() == 0


def test_withdrawing_records_appeal_withdrawn(appeal_types, platform):
    _subscribe(platform)
    appeal = AppealFactory(integration=platform)
    appeal_withdraw(appeal=appeal)
    assert _events(appeal) == ["appeal.withdrawn"]
    assert IntegrationEvent.objects.get().data["state"] == "withdrawn"
    assert WebhookDelivery.objects.count() == 1


def _overdue(appeal_types, count, **kwargs):
    created = timezone.now() - timedelta(days=5)
    due, warn = appeal_types["realname_unbind"].sla_times(created)
    return [AppealFactory(created_at=created, sla_due_at=due, sla_warn_at=warn, **kwargs) for _ in range(count)]


def test_the_sla_sweep_records_sla_breached_in_bulk(appeal_types, platform):
    portal = Integration.objects.create(name="Bank", receives_portal_appeals=True)
    _subscribe(portal)
    _subscribe(platform)
    _subscribe(platform, types=["appeal.decided"])
    mine = _overdue(appeal_types, 3, integration=platform)
    public = _overdue(appeal_types, 2)

    report = sla_sweep()

    assert len(report.breached) == 5
    events = IntegrationEvent.objects.filter(type="sla.breached")
    assert sorted(e.appeal_id for e in events) == sorted(a.pk for a in mine + public)
    assert {e.data["state"] for e in events} == {"escalated"}
    assert WebhookDelivery.objects.filter(subscription__integration=platform).count() == 3
    assert WebhookDelivery.objects.filter(subscription__integration=portal).count() == 2
    assert sla_sweep().breached == [] and events.count() == 5  # once per breach


def _sweep_queries(appeal_types, platform, count) -> int:
    _overdue(appeal_types, count, integration=platform)
    with CaptureQueriesContext(connection) as queries:
        sla_sweep()
    return len([q for q in queries if "integrations_" in q["sql"]])


def test_the_sla_sweeps_events_cost_the_same_queries_for_2_or_20_breaches(appeal_types, platform):
    _subscribe(platform)
    with time_machine.travel(timezone.now(), tick=False):
        few = _sweep_queries(appeal_types, platform, 2)
        many = _sweep_queries(appeal_types, platform, 20)
    assert few == many <= 3
    assert WebhookDelivery.objects.count() == 22

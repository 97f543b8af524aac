"""`POST /api/v1/appeals/<reference>/registered-contacts/`: the platform gives the account's registered
contacts of an appeal (one filed on the public form, heard of by `appeal.submitted`), told at once
while its approval is held."""

import json
from datetime import datetime

import pytest
from django.core import mail
from django.urls import reverse

from integrations.models import Integration, Scope
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.models import Appeal, HoldNotice, OutboundEmail
from tickets.outbox.services import outbox_deliver
from tickets.services import agent as agent_services

from .conftest import api_key_issue, assert_error
from .test_appeal_create import CREATE, body

pytestmark = pytest.mark.django_db

OWNER = {"kind": "email", "value": "owner@example.com"}
PHONE = {"kind": "phone", "value": "+86 138 0013 8000"}
NAMED = {"kind": "email", "value": "old.address@example.com", "source": "appellant"}
CONTACTS_REFUSED = 'A JSON list of at most 20 {"kind": "email" or "phone", "value": "…"}.'


def contacts_url(reference: str) -> str:
    return reverse("api:registered-contacts", args=[reference])


def post_contacts(api_client, reference: str, contacts, **extra):
    body = contacts if isinstance(contacts, (dict, str)) else {"registered_contacts": contacts}
    data = body if isinstance(body, str) else json.dumps(body)
    return api_client.post(contacts_url(reference), data, content_type="application/json", **extra)


@pytest.fixture
def portal_integration(db):
    return Integration.objects.create(name="WalletApp", receives_portal_appeals=True)


@pytest.fixture
def portal_key(portal_integration) -> str:
    return api_key_issue(portal_integration)


@pytest.fixture
def portal_appeal(appeal_types):
    """Filed on the public form, naming the account's old address."""
    return AppealFactory(integration=None, appeal_type=appeal_types["phone_rebind"], registered_contacts=[NAMED])


@pytest.fixture
def held(appeal_types):
    """A portal appeal of a high-risk type approved by two supervisors: held, the address it names told."""
    agent = AgentFactory()
    appeal = AppealFactory(
        integration=None, appeal_type=appeal_types["phone_rebind"], registered_contacts=[NAMED], state="in_review", assignee=agent
    )
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_propose_approval(appeal=appeal, actor=SupervisorFactory(), comment="Documents match.")
    agent_services.appeal_second_approve(appeal=appeal, actor=SupervisorFactory(), comment="Agreed.")
    appeal.refresh_from_db()
    assert appeal.fulfilment == "held"
    assert list(HoldNotice.objects.values_list("value", flat=True)) == [NAMED["value"]]
    return appeal


def hold_notices_to(address: str) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(template="hold_notice", to=address))


def test_a_platform_gives_the_contacts_of_a_portal_appeal(api, portal_key, portal_appeal):
    response = post_contacts(api(portal_key), portal_appeal.reference, [OWNER, PHONE])

    assert response.status_code == 200, response.content
    assert response.json() == {"reference": portal_appeal.reference, "contacts": 3, "told_now": 0, "hold_until": None}
    portal_appeal.refresh_from_db()
    assert portal_appeal.registered_contacts == [NAMED, OWNER, PHONE]
    assert not HoldNotice.objects.exists() and not OutboundEmail.objects.filter(template="hold_notice").exists()


def test_during_a_hold_a_new_contact_is_emailed_once_and_a_repeat_tells_no_one(api, portal_key, held):
    first = post_contacts(api(portal_key), held.reference, [OWNER, PHONE])

    assert first.status_code == 200, first.content
    answer = first.json()
    assert (answer["contacts"], answer["told_now"]) == (3, 1)  # the phone number: no channel reaches it yet
    assert datetime.fromisoformat(answer["hold_until"]) == held.hold_until
    [notice] = hold_notices_to(OWNER["value"])
    assert outbox_deliver(email_id=notice.pk)
    [sent] = [m for m in mail.outbox if m.to == [OWNER["value"]]]
    assert "/appeals/hold/" in sent.body  # the one-click objection link

    again = post_contacts(api(portal_key), held.reference, [OWNER, {"kind": "email", "value": "OWNER@example.com"}])
    assert again.status_code == 200
    assert (again.json()["contacts"], again.json()["told_now"]) == (3, 0)
    assert len(hold_notices_to(OWNER["value"])) == 1
    assert HoldNotice.objects.filter(appeal=held, value=OWNER["value"]).count() == 1
    held.refresh_from_db()
    assert held.registered_contacts == [NAMED, OWNER, PHONE]


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({}, CONTACTS_REFUSED),
        ({"registered_contacts": json.dumps([OWNER])}, CONTACTS_REFUSED),  # a string, as in the multipart field
        ([], "Give at least one contact."),
        ([{"kind": "fax", "value": "1"}], CONTACTS_REFUSED),
        ([{"kind": "email", "value": "not-an-address"}], CONTACTS_REFUSED),
        ([{"kind": "phone", "value": "call me"}], CONTACTS_REFUSED),
        ([{**OWNER, "source": "appellant"}], CONTACTS_REFUSED),  # the platform cannot pass for the appellant
        ([OWNER, {"kind": "email", "value": 7}], CONTACTS_REFUSED),  # one bad contact refuses them all
        ([{"kind": "email", "value": f"c{n}@example.com"} for n in range(21)], CONTACTS_REFUSED),
        ([{"kind": "email", "value": f"c{n}@example.com"} for n in range(20)], "at most 20 registered contacts"),
    ],
    ids=["missing", "string", "empty", "kind", "email", "phone", "source", "one-bad", "over-20", "appeal-over-20"],
)
def test_a_refused_list_is_400_with_a_clear_message_and_nothing_is_stored(api, portal_key, held, sent, message):
    error = assert_error(post_contacts(api(portal_key), held.reference, sent), 400, "invalid")

    assert error["message"] == "Some fields were refused: see fields."
    assert list(error["fields"]) == ["registered_contacts"]
    assert message in error["fields"]["registered_contacts"][0]
    held.refresh_from_db()
    assert held.registered_contacts == [NAMED]
    assert HoldNotice.objects.count() == 1 and OutboundEmail.objects.filter(template="hold_notice").count() == 1


def test_a_body_that_is_not_json_is_400(api, portal_key, portal_appeal):
    assert_error(post_contacts(api(portal_key), portal_appeal.reference, "{not json"), 400, "parse_error")
    form = api(portal_key).post(contacts_url(portal_appeal.reference), {"registered_contacts": "x"})  # multipart
    assert_error(form, 415, "unsupported_media_type")
    portal_appeal.refresh_from_db()
    assert portal_appeal.registered_contacts == [NAMED]


def test_another_integrations_appeal_and_an_unknown_reference_are_404(api, api_key, integration, portal_key, portal_appeal):
    theirs = AppealFactory(integration=integration)
    for key, reference in [
        (portal_key, theirs.reference),  # filed by another integration
        (api_key, portal_appeal.reference),  # a portal appeal, for an integration that does not receive them
        (portal_key, "AP-NONE-XXXX"),
    ]:
        error = assert_error(post_contacts(api(key), reference, [OWNER]), 404, "not_found")
        assert "fields" not in error
    assert post_contacts(api(api_key), theirs.reference, [OWNER]).status_code == 200  # its own
    theirs.refresh_from_db()
    portal_appeal.refresh_from_db()
    assert (theirs.registered_contacts, portal_appeal.registered_contacts) == ([OWNER], [NAMED])


def test_without_the_appeals_write_scope_it_is_403_and_without_a_key_401(api, portal_integration, portal_appeal):
    key = api_key_issue(portal_integration, scopes=[Scope.APPEALS_READ, Scope.FULFILMENT_WRITE])
    error = assert_error(post_contacts(api(key), portal_appeal.reference, [OWNER]), 403, "permission_denied")
    assert "appeals:write" in error["message"]
    assert_error(post_contacts(api(None), portal_appeal.reference, [OWNER]), 401, "not_authenticated")
    portal_appeal.refresh_from_db()
    assert portal_appeal.registered_contacts == [NAMED]


def test_a_retry_with_its_idempotency_key_gets_the_first_answer(api, portal_key, held):
    first = post_contacts(api(portal_key), held.reference, [OWNER], HTTP_IDEMPOTENCY_KEY="contacts-1")
    retry = post_contacts(api(portal_key), held.reference, [OWNER], HTTP_IDEMPOTENCY_KEY="contacts-1")

    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and first.json()["told_now"] == 1  # not 0: the first answer, replayed
    assert retry["Idempotent-Replayed"] == "true"
    other = post_contacts(api(portal_key), held.reference, [PHONE], HTTP_IDEMPOTENCY_KEY="contacts-1")
    assert_error(other, 422, "idempotency_key_reused")
    held.refresh_from_db()
    assert held.registered_contacts == [NAMED, OWNER]
    assert len(hold_notices_to(OWNER["value"])) == 1


def test_it_counts_against_the_keys_rate_limit(api, portal_integration, portal_appeal):
    key = api_key_issue(portal_integration, rate_limit="1/min")
    assert post_contacts(api(key), portal_appeal.reference, [OWNER]).status_code == 200
    assert_error(post_contacts(api(key), portal_appeal.reference, [PHONE]), 429, "throttled")
    portal_appeal.refresh_from_db()
    assert portal_appeal.registered_contacts == [NAMED, OWNER]


def test_an_appeal_filed_through_the_api_keeps_the_address_the_appellant_named(api, api_key, appeal_types):
    named = "old.address@example.com"
    response = api(api_key).post(CREATE, body(appeal_types, account_email=named))

    assert response.status_code == 201, response.content
    contacts = Appeal.objects.get().registered_contacts
    assert contacts == [
        {"kind": "email", "value": "owner@example.com"},
        {"kind": "phone", "value": "13800138000"},
        {"kind": "email", "value": named, "source": "appellant"},
    ]

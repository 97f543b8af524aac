"""The appeal form's optional "e-mail address registered on the account": kept as a registered contact
of source `appellant`, told by the security hold before a risky approval takes effect."""

import pytest
from django.urls import reverse

from tests.tickets.factories import AgentFactory, SupervisorFactory, submission, verify_required_evidence
from tests.tickets.test_appeal_submit import assert_nothing_stored, post_appeal
from tickets.models import Appeal, HoldNotice
from tickets.services import agent as agent_services

pytestmark = pytest.mark.django_db

NAMED = "old.address@example.com"
OWN_REFUSED = "This is the address above, where we reach you."


def test_the_address_named_is_stored_as_a_registered_contact_of_the_appellant(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, account_email=f"  {NAMED} "))

    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.registered_contacts == [{"kind": "email", "value": NAMED, "source": "appellant"}]
    assert appeal.contact_email == "li.lei@example.com"


@pytest.mark.parametrize("own", ["li.lei@example.com", "Li.Lei@Example.COM"])
def test_the_appellants_own_address_is_refused_with_the_message_shown_and_nothing_is_stored(
    client, appeal_types, evidence_root, own
):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, account_email=own))

    assert response.status_code == 400
    page = response.content.decode()
    assert OWN_REFUSED in page
    assert page.split('name="account_email"', 1)[0].rsplit("<details", 1)[1].startswith(" open>")  # unfolded
    assert_nothing_stored(evidence_root)


def test_the_upload_script_gets_the_refusal_under_the_fields_name(client, appeal_types, evidence_root):
    appeal_type = appeal_types["access_card_unbind"]
    data = submission(appeal_type, account_email="li.lei@example.com")
    response = post_appeal(client, appeal_type, data, HTTP_ACCEPT="application/json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["account_email"]
    assert response.json()["errors"]["account_email"][0].startswith(OWN_REFUSED)
    assert_nothing_stored(evidence_root)


def test_an_address_that_is_not_one_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["access_card_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, account_email="old address"))

    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize("sent", [None, "", "   "], ids=["absent", "empty", "blank"])
def test_without_it_the_appeal_has_no_registered_contact(client, appeal_types, sent):
    appeal_type = appeal_types["access_card_unbind"]
    assert post_appeal(client, appeal_type, submission(appeal_type, account_email=sent)).status_code == 302
    assert Appeal.objects.get().registered_contacts == []


def test_the_form_asks_it_in_english_and_chinese(client, appeal_types):
    url = reverse("tickets:new", args=["phone_rebind"])
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Folded under one line, as the optional files are: most appellants write from the account's address.
    assert "<details>" in english.split("Is the account registered with another e-mail address?", 1)[0][-120:]
    assert 'maxlength="254"' in english.split('name="account_email"', 1)[1].split(">", 1)[0]
    assert "E-mail address registered on the account" in english
    assert "Only if it is not the address above." in english
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "账户绑定的是另一个邮箱？" in chinese and "账户绑定的邮箱" in chinese and "仅当与上面的邮箱不同时填写" in chinese


def test_the_brief_form_of_an_emergency_freeze_does_not_ask_it(client, appeal_types):
    appeal_type = appeal_types["emergency_freeze"]
    page = client.get(reverse("tickets:new", args=[appeal_type.code]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'name="account_email"' not in page
    assert post_appeal(client, appeal_type, submission(appeal_type, account_email=NAMED)).status_code == 302
    assert Appeal.objects.get().registered_contacts == []  # a freeze is never held: no one to tell


def test_the_security_hold_tells_the_address_the_appellant_named(client, appeal_types):
    appeal_type = appeal_types["phone_rebind"]
    assert post_appeal(client, appeal_type, submission(appeal_type, account_email=NAMED)).status_code == 302
    agent = AgentFactory()
    appeal = Appeal.objects.get()
    agent_services.appeal_claim(appeal=appeal, actor=agent)
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_propose_approval(appeal=appeal, actor=SupervisorFactory(), comment="Documents match.")
    agent_services.appeal_second_approve(appeal=appeal, actor=SupervisorFactory(), comment="Agreed.")

    appeal.refresh_from_db()
    assert appeal.fulfilment == "held"
    [notice] = HoldNotice.objects.filter(appeal=appeal)
    assert (notice.value, notice.source) == (NAMED, HoldNotice.Source.APPELLANT)
    assert notice.email.to == NAMED and notice.email.template == "hold_notice"

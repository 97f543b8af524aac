"""The security hold (tickets/services/hold.py): which approvals wait and how long, the notices to the
account's registered contacts, and their one-click objection link, through the services and through
the pages the appellant and the contacts open. Every refused or repeated link is shown to change
nothing. The release sweep is proven in test_security_hold_sweep.py."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation

from integrations.models import IntegrationEvent
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tickets.models import Appeal, AppealEvent, HoldNotice, OutboundEmail
from tickets.services import agent as agent_services
from tickets.services.errors import WorkflowError
from tickets.services.hold import (
    OBJECTION_LINK_MAX_AGE,
    OBJECTION_SALT,
    appeal_registered_contacts_add,
    hold_objection_record,
    release_sweep,
)
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(second=0, microsecond=0)
OWNER, BACKUP = "owner@example.net", "backup@example.net"
CONTACTS = [
    {"kind": "email", "value": OWNER},
    {"kind": "phone", "value": "+86 139 0000 0000"},
    {"kind": "email", "value": BACKUP, "source": "appellant"},
]
HELD_TEXT = "Your approval takes effect on {when} (Beijing time). Until then it is on a security hold"
STOPPED_PAGE = "Stopped. Thank you."
ALREADY_PAGE = "This request is already stopped"
ENDED_PAGE = "This request is no longer on hold"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # staff alerts are written in the site's language
    with translation.override("en"):
        yield


@pytest.fixture
def staff(db):
    return {
        "agent": AgentFactory(username="agent", email="agent@example.com"),
        "sup1": SupervisorFactory(username="sup1", email="sup1@example.com"),
        "sup2": SupervisorFactory(username="sup2", email="sup2@example.com"),
    }


def filed(appeal_types, staff, code="realname_unbind", **kwargs) -> Appeal:
    kwargs.setdefault("registered_contacts", CONTACTS)
    return AppealFactory(appeal_type=appeal_types[code], state="in_review", assignee=staff["agent"], **kwargs)


def approve(appeal, staff, *, at=T0) -> Appeal:
    """Approve as the console does: two people (the code confirmed) when the appeal needs them."""
    with time_machine.travel(at, tick=False):
        if not appeal.evidence.exists():
            verify_required_evidence(appeal, by=staff["agent"])
        appeal = Appeal.objects.get(pk=appeal.pk)
        if appeal.needs_second_approval:
            proposer = staff["agent"] if appeal.state == "in_review" else staff["sup2"]
            agent_services.appeal_propose_approval(appeal=appeal, actor=proposer, code_matches=True)
            agent_services.appeal_second_approve(appeal=appeal, actor=staff["sup1"], code_matches=True, comment="Approved.")
        else:
            actor = staff["agent"] if appeal.state == "in_review" else staff["sup1"]
            agent_services.appeal_approve(appeal=appeal, actor=actor, code_matches=True, comment="Approved.")
    return Appeal.objects.get(pk=appeal.pk)


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")  # Beijing time, as the pages and e-mails say


def integration_types(appeal) -> list[str]:
    return list(IntegrationEvent.objects.filter(appeal=appeal).order_by("pk").values_list("type", flat=True))


def notices_to() -> dict[str, OutboundEmail]:
    emails = OutboundEmail.objects.filter(template="hold_notice").order_by("pk")
    assert len({e.to for e in emails}) == len(emails), "a contact was told twice"
    return {e.to: e for e in emails}


def objection_path(email: OutboundEmail) -> str:
    return re.search(r"http://testserver(/appeals/hold/[^/\s]+/)", email.body_text).group(1)


def status_page(client, appeal) -> str:
    return client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).content.decode()


def snapshot(appeal) -> dict:
    """Everything an objection link could change."""
    fresh = Appeal.objects.get(pk=appeal.pk)
    return {
        "appeal": (
            fresh.state,
            fresh.fulfilment,
            fresh.hold_number,
            fresh.hold_until,
            fresh.takeover_suspected,
            fresh.objected_at,
            fresh.released_at,
            fresh.sla_cycle,
        ),
        "events": list(AppealEvent.objects.order_by("pk").values_list("pk", "kind")),
        "emails": list(OutboundEmail.objects.order_by("pk").values_list("pk", "template", "to")),
        "integration": list(IntegrationEvent.objects.order_by("pk").values_list("pk", "type")),
        "notices": list(HoldNotice.objects.order_by("pk").values_list("pk", "objected_at", "objection_note", "objection_ip")),
    }


# 1. Which approvals are held, and for how long.


@pytest.mark.parametrize("code", ["realname_unbind", "phone_rebind", "account_recovery"])
def test_a_high_risk_type_is_held_for_the_hold_hours_and_not_released(appeal_types, staff, code):
    appeal = approve(filed(appeal_types, staff, code=code), staff)
    assert (appeal.state, appeal.fulfilment) == ("approved", "held")
    assert (appeal.hold_number, appeal.hold_started_at) == (1, T0)
    assert appeal.hold_until == T0 + timedelta(hours=settings.SECURITY_HOLD_HOURS)
    assert appeal.released_at is None and appeal.fulfilment_release == 0
    assert integration_types(appeal) == ["appeal.decided", "appeal.held"]
    held = IntegrationEvent.objects.get(appeal=appeal, type="appeal.held").data
    assert held["fulfilment"] == "held" and held["hold_until"] and held["released_at"] is None
    hold = appeal.events.get(kind="hold")
    assert hold.public and "Registered contacts told: 2." in hold.comment
    assert not appeal.events.filter(kind="release").exists()


@pytest.mark.parametrize("code", ["realname_unbind", "access_card_unbind"])
def test_a_score_from_the_long_score_holds_for_the_long_hours(appeal_types, staff, code):
    appeal = approve(filed(appeal_types, staff, code=code, risk_score=settings.SECURITY_HOLD_LONG_SCORE), staff)
    assert appeal.fulfilment == "held"
    assert appeal.hold_until == T0 + timedelta(hours=settings.SECURITY_HOLD_LONG_HOURS)


def test_a_low_risk_type_scoring_the_high_threshold_is_held_for_the_hold_hours(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, code="access_card_unbind", risk_score=settings.RISK_HIGH_THRESHOLD), staff)
    assert appeal.fulfilment == "held"
    assert appeal.hold_until == T0 + timedelta(hours=settings.SECURITY_HOLD_HOURS)


def test_a_low_risk_type_with_a_low_score_is_released_at_once_and_nobody_is_told(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, code="access_card_unbind", risk_score=10), staff)
    assert (appeal.fulfilment, appeal.fulfilment_release, appeal.hold_number) == ("released", 1, 0)
    assert integration_types(appeal) == ["appeal.decided", "appeal.released"]
    assert not HoldNotice.objects.exists() and not OutboundEmail.objects.filter(template="hold_notice").exists()
    assert not appeal.events.filter(kind="hold").exists()


def test_an_urgent_freeze_is_never_held_whatever_its_score(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, code="emergency_freeze", risk_score=100), staff)
    assert (appeal.fulfilment, appeal.hold_until) == ("released", None)
    assert integration_types(appeal) == ["appeal.decided", "appeal.released"]
    assert not HoldNotice.objects.exists()


def test_zero_hold_hours_release_a_high_risk_type_at_once(appeal_types, staff, settings):
    settings.SECURITY_HOLD_HOURS = 0
    appeal = approve(filed(appeal_types, staff), staff)
    assert appeal.fulfilment == "released"
    assert integration_types(appeal) == ["appeal.decided", "appeal.released"]
    assert not HoldNotice.objects.exists()


def test_the_appellant_is_told_when_the_approval_takes_effect_by_email_and_on_the_status_page(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    when = local(appeal.hold_until)
    [approved] = OutboundEmail.objects.filter(template="approved")
    assert approved.to == appeal.contact_email
    assert HELD_TEXT.format(when=when) in approved.body_text
    assert HELD_TEXT.format(when=when) in approved.body_html
    page = status_page(en_client, appeal)
    assert 'data-fulfilment="held"' in page and HELD_TEXT.format(when=when) in page
    assert "The wait protects your account" in page


# 2. The notices to the registered contacts.


def test_each_registered_email_contact_gets_one_notice_with_a_working_link(en_client, appeal_types, staff):
    contacts = [*CONTACTS, {"kind": "email", "value": "OWNER@example.net"}, {"kind": "email", "value": ""}]
    appeal = approve(filed(appeal_types, staff, registered_contacts=contacts, account_identifier="lilei_2019"), staff)
    notices = notices_to()
    assert sorted(notices) == [BACKUP, OWNER]  # e-mail contacts only, each once
    for to, email in notices.items():
        assert email.appeal == appeal
        assert "Was it you?" in email.subject
        assert f"takes effect on {local(appeal.hold_until)}" in email.body_text
        assert "lilei_2019" not in email.body_text and "li***19" in email.body_text  # the account, masked
        notice = HoldNotice.objects.get(appeal=appeal, value=to)
        assert (notice.hold, notice.kind, notice.email) == (1, "email", email)
        page = en_client.get(objection_path(email))
        assert page.status_code == 200
        text = page.content.decode()
        assert 'data-objection="ask"' in text and appeal.reference in text and "It was not me: stop it" in text
    assert HoldNotice.objects.get(value=OWNER).source == "platform"
    assert HoldNotice.objects.get(value=BACKUP).source == "appellant"


def test_phone_contacts_and_the_appellants_own_address_are_not_emailed(appeal_types, staff):
    appellant = "li.lei@example.com"
    contacts = [{"kind": "phone", "value": "13800138000"}, {"kind": "email", "value": "Li.Lei@Example.com "}]
    appeal = approve(filed(appeal_types, staff, contact_email=appellant, registered_contacts=contacts), staff)
    assert appeal.fulfilment == "held"
    assert notices_to() == {} and not HoldNotice.objects.exists()
    assert list(OutboundEmail.objects.filter(to__iexact=appellant).values_list("template", flat=True)) == ["approved"]


def test_contacts_added_during_the_hold_are_told_once_and_the_others_not_again(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, registered_contacts=[{"kind": "email", "value": OWNER}]), staff)
    assert sorted(notices_to()) == [OWNER]
    added = [
        {"kind": "email", "value": OWNER},  # known already
        {"kind": "email", "value": "new@example.net"},
        {"kind": "phone", "value": "13900139000"},
    ]
    appeal, told = appeal_registered_contacts_add(appeal=appeal, contacts=added)
    assert told == 1
    assert sorted(notices_to()) == ["new@example.net", OWNER]
    assert [c["value"] for c in appeal.registered_contacts] == [OWNER, "new@example.net", "13900139000"]
    before = snapshot(appeal)
    assert appeal_registered_contacts_add(appeal=appeal, contacts=added)[1] == 0  # the platform sends them again
    assert snapshot(appeal) == before


def test_contacts_added_outside_a_hold_are_kept_and_told_nothing(appeal_types, staff):
    appeal = filed(appeal_types, staff, registered_contacts=[])
    appeal, told = appeal_registered_contacts_add(appeal=appeal, contacts=[{"kind": "email", "value": OWNER}])
    assert told == 0 and appeal.registered_contacts == [{"kind": "email", "value": OWNER}]
    assert not OutboundEmail.objects.exists()
    approve(appeal, staff)  # told when the approval is held
    assert sorted(notices_to()) == [OWNER]
    with time_machine.travel(T0 + timedelta(hours=settings.SECURITY_HOLD_HOURS), tick=False):
        release_sweep()
    appeal, told = appeal_registered_contacts_add(appeal=appeal, contacts=[{"kind": "email", "value": "late@example.net"}])
    assert told == 0 and sorted(notices_to()) == [OWNER]  # released: there is nothing left to stop


# 3. The objection.


def test_opening_the_link_shows_the_request_and_changes_nothing(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, account_identifier="lilei_2019"), staff)
    path = objection_path(notices_to()[OWNER])
    before = snapshot(appeal)
    for _ in range(3):  # a mail scanner, a preview, the owner
        response = en_client.get(path)
        assert response.status_code == 200
    page = response.content.decode()
    assert "Did you ask for this?" in page and 'data-objection="ask"' in page
    assert appeal.reference in page and appeal.appeal_type.name in page
    assert local(appeal.hold_until) in page and "li***19" in page and "lilei_2019" not in page
    assert '<form method="post"' in page and "It was not me: stop it" in page
    assert snapshot(appeal) == before


def test_an_objection_stops_the_release_and_hands_the_appeal_to_the_supervisors(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    appellant_emails = list(OutboundEmail.objects.filter(to=appeal.contact_email).values_list("pk", flat=True))

    response = en_client.post(path, {"note": "I never asked for this; my phone is with me."})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-objection="stopped"' in page and STOPPED_PAGE in page and appeal.reference in page

    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment) == ("escalated", "not_released")
    assert appeal.takeover_suspected and appeal.objected_at is not None
    assert appeal.closed_at is None and appeal.proposed_by is None and appeal.sla_cycle == 2
    assert appeal.needs_second_approval
    notice = HoldNotice.objects.get(value=OWNER)
    assert notice.objected_at == appeal.objected_at and notice.objection_ip == "127.0.0.1"
    assert notice.objection_note == "I never asked for this; my phone is with me."
    assert HoldNotice.objects.get(value=BACKUP).objected_at is None

    event = appeal.events.get(kind="hold_objection")
    assert (event.public, event.actor_label, event.from_state, event.to_state) == (
        False,
        "registered_contact",
        "approved",
        "escalated",
    )
    assert OWNER in event.comment
    assert integration_types(appeal) == ["appeal.decided", "appeal.held", "appeal.hold_objected"]

    alerts = {e.to: e for e in OutboundEmail.objects.filter(template="takeover_alert")}
    assert sorted(alerts) == ["agent@example.com", "sup1@example.com", "sup2@example.com"]
    for alert in alerts.values():
        assert appeal.reference in alert.subject and OWNER in alert.body_text
        assert "my phone is with me" in alert.body_text and f"/desk/appeals/{appeal.reference}/" in alert.body_text

    # The appellant hears only that the review continues: no word of the objection or its contact.
    [to_appellant] = OutboundEmail.objects.filter(to=appeal.contact_email).exclude(pk__in=appellant_emails)
    assert to_appellant.template == "review_continues"
    assert "further review by a supervisor" in to_appellant.body_text
    page = status_page(en_client, appeal)
    assert appeal.reference in page and "data-fulfilment" not in page
    for word in (OWNER, BACKUP, "Stopped by", "takeover", "objected", "did not ask", "my phone is with me"):
        assert word not in page and word not in to_appellant.body_text, word

    # When the hold would have ended, nothing is released.
    before = snapshot(appeal)
    with time_machine.travel(T0 + timedelta(hours=settings.SECURITY_HOLD_LONG_HOURS + 1), tick=False):
        assert release_sweep() == []
    assert snapshot(appeal) == before
    assert "appeal.released" not in integration_types(appeal)


def test_the_objection_form_works_as_a_browser_sends_it_with_its_csrf_token(appeal_types, staff):
    from django.test import Client

    appeal = approve(filed(appeal_types, staff), staff)
    browser = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    path = objection_path(notices_to()[OWNER])
    assert browser.post(path, {"note": "no token"}).status_code == 403
    assert Appeal.objects.get(pk=appeal.pk).fulfilment == "held"
    page = browser.get(path).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = browser.post(path, {"csrfmiddlewaretoken": token, "note": ""})
    assert STOPPED_PAGE in response.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).fulfilment == "not_released"


def test_a_note_too_long_is_refused_on_the_page_and_stops_nothing(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    before = snapshot(appeal)
    response = en_client.post(path, {"note": "x" * 1001})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-objection="ask"' in page and "It was not me: stop it" in page and "1000" in page
    assert snapshot(appeal) == before


def test_after_an_objection_two_people_must_decide_whatever_the_score(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff, code="access_card_unbind", risk_score=settings.RISK_HIGH_THRESHOLD), staff)
    hold_objection_record(notice=HoldNotice.objects.get(value=OWNER))
    Appeal.objects.filter(pk=appeal.pk).update(risk_score=0)  # rescored low since: the objection still counts
    appeal = Appeal.objects.get(pk=appeal.pk)
    assert not appeal.appeal_type.needs_second_approval and appeal.needs_second_approval
    with pytest.raises(WorkflowError, match="propose the approval"):
        agent_services.appeal_approve(appeal=appeal, actor=staff["sup1"])
    assert Appeal.objects.get(pk=appeal.pk).state == "escalated"


def test_approved_again_after_an_objection_it_is_held_for_the_long_hours_and_everyone_is_told_again(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    hold_objection_record(notice=HoldNotice.objects.get(value=OWNER))
    later = T0 + timedelta(hours=3)
    appeal = approve(appeal, staff, at=later)
    assert (appeal.state, appeal.fulfilment, appeal.hold_number) == ("approved", "held", 2)
    assert appeal.hold_until == later + timedelta(hours=settings.SECURITY_HOLD_LONG_HOURS)
    assert sorted(HoldNotice.objects.filter(hold=2).values_list("value", flat=True)) == [BACKUP, OWNER]
    assert OutboundEmail.objects.filter(template="hold_notice").count() == 4


# 4. Links that cannot stop anything (any more).


def objection_attempts(client, path) -> list:
    return [client.get(path), client.post(path, {"note": "not me"})]


def test_a_tampered_link_is_not_valid_and_changes_nothing(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    token = path.split("/")[-2]
    forged = signing.dumps({"n": HoldNotice.objects.get(value=OWNER).pk, "h": 1}, salt="another-salt", compress=True)
    unknown = signing.dumps({"n": 10**9, "h": 1}, salt=OBJECTION_SALT, compress=True)
    other_hold = signing.dumps({"n": HoldNotice.objects.get(value=OWNER).pk, "h": 2}, salt=OBJECTION_SALT, compress=True)
    before = snapshot(appeal)
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], "x", forged, unknown, other_hold):
        for response in objection_attempts(en_client, reverse("tickets:hold_objection", args=[bad])):
            assert response.status_code == 404
            page = response.content.decode()
            assert "This link is not valid" in page and "Nothing has been changed." in page
            assert appeal.reference not in page
    assert snapshot(appeal) == before


def test_an_expired_link_is_gone_and_changes_nothing(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    before = snapshot(appeal)
    with time_machine.travel(T0 + OBJECTION_LINK_MAX_AGE + timedelta(seconds=1), tick=False):
        for response in objection_attempts(en_client, path):
            assert response.status_code == 410
            page = response.content.decode()
            assert "This link has expired" in page and "Nothing has been changed." in page
    assert snapshot(appeal) == before


def test_a_link_after_the_hold_ended_says_so_and_changes_nothing(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    with time_machine.travel(T0 + timedelta(hours=settings.SECURITY_HOLD_HOURS), tick=False):
        assert release_sweep() == [appeal.reference]
    before = snapshot(appeal)
    for response in objection_attempts(en_client, path):
        assert response.status_code == 200
        page = response.content.decode()
        assert 'data-objection="ended"' in page and ENDED_PAGE in page and appeal.reference in page
        assert "It was not me: stop it" not in page
    assert snapshot(appeal) == before
    assert Appeal.objects.get(pk=appeal.pk).fulfilment == "released"


def test_a_link_used_twice_stops_once(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    path = objection_path(notices_to()[OWNER])
    first = en_client.post(path, {"note": "first"})
    assert STOPPED_PAGE in first.content.decode()
    before = snapshot(appeal)
    for response in objection_attempts(en_client, path):
        assert response.status_code == 200
        page = response.content.decode()
        assert 'data-objection="already"' in page and ALREADY_PAGE in page
        assert f"was stopped on {local(Appeal.objects.get(pk=appeal.pk).objected_at)}" in page
    assert snapshot(appeal) == before
    assert appeal.events.filter(kind="hold_objection").count() == 1
    assert integration_types(appeal).count("appeal.hold_objected") == 1
    assert OutboundEmail.objects.filter(template="takeover_alert").count() == 3  # one per staff member
    assert OutboundEmail.objects.filter(template="review_continues").count() == 1
    assert HoldNotice.objects.get(value=OWNER).objection_note == "first"


def test_a_second_contact_objecting_after_the_first_is_noted_and_changes_nothing_else(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    en_client.post(objection_path(notices_to()[OWNER]), {"note": "owner"})
    backup_path = objection_path(notices_to()[BACKUP])
    assert ALREADY_PAGE in en_client.get(backup_path).content.decode()
    before = snapshot(appeal)
    response = en_client.post(backup_path, {"note": "me neither"})
    assert ALREADY_PAGE in response.content.decode()
    noted = HoldNotice.objects.get(value=BACKUP)
    assert noted.objected_at is not None and noted.objection_note == "me neither"
    after = snapshot(appeal)
    assert {k: v for k, v in after.items() if k != "notices"} == {k: v for k, v in before.items() if k != "notices"}
    assert appeal.events.filter(kind="hold_objection").count() == 1
    assert OutboundEmail.objects.filter(template="takeover_alert").count() == 3
    en_client.post(backup_path, {"note": "again"})  # and its own second use changes nothing either
    assert snapshot(appeal) == after


def test_a_link_of_an_earlier_hold_cannot_stop_a_new_approval(en_client, appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    old_paths = [objection_path(notices_to()[BACKUP]), objection_path(notices_to()[OWNER])]
    en_client.post(old_paths[1], {"note": "not me"})  # the owner stopped the first approval
    appeal = approve(appeal, staff, at=T0 + timedelta(hours=1))
    assert appeal.hold_number == 2
    before = snapshot(appeal)
    for path in old_paths:  # neither the unused link nor the one that stopped the first hold says "stopped"
        for response in objection_attempts(en_client, path):
            assert response.status_code == 200
            page = response.content.decode()
            assert 'data-objection="ended"' in page and ENDED_PAGE in page
    assert snapshot(appeal) == before
    new_backup = HoldNotice.objects.get(value=BACKUP, hold=2)
    assert hold_objection_record(notice=new_backup).outcome == "stopped"  # the new hold's own link still works


def test_the_links_of_a_new_hold_after_an_objection_ask_and_then_end(en_client, appeal_types, staff):
    """A first objection leaves its flag on the appeal: the second hold's links must still offer the
    button while that hold lasts, and say it ended (not "already stopped") once it is released."""
    appeal = approve(filed(appeal_types, staff), staff)
    hold_objection_record(notice=HoldNotice.objects.get(value=OWNER))
    later = T0 + timedelta(hours=1)
    appeal = approve(appeal, staff, at=later)
    new_owner = objection_path(OutboundEmail.objects.filter(template="hold_notice", to=OWNER).latest("pk"))
    page = en_client.get(new_owner).content.decode()
    assert 'data-objection="ask"' in page and "It was not me: stop it" in page
    with time_machine.travel(later + timedelta(hours=settings.SECURITY_HOLD_LONG_HOURS), tick=False):
        assert release_sweep() == [appeal.reference]
    before = snapshot(appeal)
    for response in objection_attempts(en_client, new_owner):
        page = response.content.decode()
        assert 'data-objection="ended"' in page and ENDED_PAGE in page
    assert snapshot(appeal) == before
    assert Appeal.objects.get(pk=appeal.pk).fulfilment == "released"


def test_the_service_says_what_each_use_of_a_link_did(appeal_types, staff):
    appeal = approve(filed(appeal_types, staff), staff)
    owner, backup = HoldNotice.objects.get(value=OWNER), HoldNotice.objects.get(value=BACKUP)
    assert hold_objection_record(notice=owner, note=" x " * 600, ip="203.0.113.9").outcome == "stopped"
    owner.refresh_from_db()
    assert len(owner.objection_note) == 1000 and owner.objection_ip == "203.0.113.9"
    assert hold_objection_record(notice=owner).outcome == "already"
    assert hold_objection_record(notice=backup).outcome == "already"
    assert AppealEvent.objects.filter(appeal=appeal, kind="hold_objection").count() == 1

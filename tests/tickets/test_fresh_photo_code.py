"""The fresh-photo code: issued with the form, bound to it by signature, stored on the appeal,
repeated in the acknowledgement, shown in the console, and confirmed by the agent who approves."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.urls import reverse
from django.utils import timezone, translation

from evidence.models import Evidence
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import (
    FRESH_PHOTO_CODE,
    AgentFactory,
    AppealFactory,
    SupervisorFactory,
    submission,
    verify_required_evidence,
)
from tickets.fresh_photo import FRESH_PHOTO_ALPHABET, fresh_photo_code_issue, fresh_photo_code_read
from tickets.models import Appeal, AppealEvent, OutboundEmail
from tickets.outbox.services import outbox_deliver
from tickets.services import agent as agent_services
from tickets.services.errors import WorkflowError


def post_appeal(client, appeal_type, data, **extra):
    return client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE="en", **extra)


def assert_nothing_stored():
    assert Appeal.objects.count() == 0
    assert Evidence.objects.count() == 0
    assert OutboundEmail.objects.count() == 0


def token_on_page(html: str) -> str:
    return html.split('name="fresh_photo_token" value="', 1)[1].split('"', 1)[0]


def test_the_form_shows_a_new_code_beside_the_handheld_photo_with_the_instruction(en_client, appeal_types):
    url = reverse("tickets:new", args=["realname_unbind"])
    html = en_client.get(url).content.decode()
    code = fresh_photo_code_read(token=token_on_page(html), appeal_type=appeal_types["realname_unbind"])
    assert len(code) == 6 and set(code) <= set(FRESH_PHOTO_ALPHABET)
    assert f'data-fresh-photo-code aria-describedby="fresh_photo_instruction">{code}<' in html
    assert "Write this code on paper and hold it with your ID card in the photo. An older photo is not accepted." in html
    assert html.index("data-fresh-photo-code") < html.index('name="evidence_id_handheld"')
    again = en_client.get(url).content.decode()
    assert token_on_page(again) != token_on_page(html)  # each form its own code


def test_the_chinese_form_gives_the_instruction_in_chinese(client, appeal_types):
    html = client.get(reverse("tickets:new", args=["realname_unbind"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "请把验证码写在纸上，与身份证一起拍进照片。旧照片无效。" in html


def test_a_type_without_the_handheld_photo_shows_no_code(en_client, appeal_types):
    html = en_client.get(reverse("tickets:new", args=["phone_rebind"])).content.decode()
    assert "fresh_photo_token" not in html and "data-fresh-photo-code" not in html


def test_the_code_is_stored_on_the_appeal_and_repeated_in_the_acknowledgement(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    issued = fresh_photo_code_issue(appeal_type=appeal_type)
    response = post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=issued.token))
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    assert appeal.fresh_photo_code == issued.code
    email = OutboundEmail.objects.get(appeal=appeal, template="acknowledgement")
    assert outbox_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert f"The code in your photo holding your ID card: {issued.code}." in email.body_text
    assert issued.code in email.body_html


def test_the_chinese_acknowledgement_repeats_the_code_in_chinese(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    issued = fresh_photo_code_issue(appeal_type=appeal_type)
    post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=issued.token, language="zh-hans"))
    email = OutboundEmail.objects.get(template="acknowledgement")
    assert outbox_deliver(email_id=email.pk)
    email.refresh_from_db()
    assert f"您手持身份证照片中的验证码：{issued.code}。" in email.body_text


def tampered(token: str) -> str:
    head, _sep, signature = token.rpartition(":")
    return f"{head}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"


def other_forms_token(appeal_types) -> str:
    return fresh_photo_code_issue(appeal_type=appeal_types["account_recovery"]).token


def made_up_token(appeal_types) -> str:
    return signing.dumps({"c": "ABCDEF", "t": "realname_unbind", "f": "x"}, salt="another.salt")


@pytest.mark.parametrize(
    ("make_token", "message"),
    [
        (lambda types: tampered(fresh_photo_code_issue(appeal_type=types["realname_unbind"]).token), "was not recognised"),
        (made_up_token, "was not recognised"),
        (other_forms_token, "This photo code was issued for another form."),
        (lambda types: "", "The photo code is missing."),
    ],
    ids=["tampered", "signed-elsewhere", "another-form", "missing"],
)
def test_a_bad_code_is_refused_on_the_form_and_nothing_is_stored(client, appeal_types, evidence_root, make_token, message):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=make_token(appeal_types)))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert_nothing_stored()
    # The page offers a new, valid code to take the photo with.
    assert fresh_photo_code_read(token=token_on_page(html), appeal_type=appeal_type)


def test_a_code_already_used_for_an_appeal_is_refused(client, appeal_types, evidence_root):
    """A page sent again, or its token replayed for a second appeal: one code, one appeal."""
    appeal_type = appeal_types["realname_unbind"]
    token = fresh_photo_code_issue(appeal_type=appeal_type).token
    assert post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=token)).status_code == 302
    again = post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=token, contact_email="x@example.com"))
    assert again.status_code == 400
    assert "This photo code was already used for an appeal." in again.content.decode()
    assert Appeal.objects.count() == 1


def test_an_expired_code_is_refused_and_a_new_one_is_shown(client, appeal_types, evidence_root, settings):
    appeal_type = appeal_types["realname_unbind"]
    issued = fresh_photo_code_issue(appeal_type=appeal_type)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.FRESH_PHOTO_CODE_MAX_AGE + 60)):
        response = post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=issued.token))
    assert response.status_code == 400
    assert "The photo code on this page has expired." in response.content.decode()
    assert_nothing_stored()


def test_the_upload_script_is_told_by_input_name_and_given_a_new_code(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type, fresh_photo_token=other_forms_token(appeal_types))
    response = post_appeal(client, appeal_type, data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    reply = json.loads(response.content)
    assert reply["errors"]["fresh_photo_token"] == [
        "This photo code was issued for another form. Use the code shown on this form and take the photo again."
    ]
    new = reply["fresh_photo"]
    assert fresh_photo_code_read(token=new["token"], appeal_type=appeal_type) == new["code"]
    assert_nothing_stored()


def test_a_valid_code_is_kept_when_another_field_is_refused(client, appeal_types, evidence_root):
    """The photo already taken with the code stays good: only the refused field is redone."""
    appeal_type = appeal_types["realname_unbind"]
    issued = fresh_photo_code_issue(appeal_type=appeal_type)
    response = post_appeal(client, appeal_type, submission(appeal_type, fresh_photo_token=issued.token, contact_email="x"))
    assert response.status_code == 400
    assert token_on_page(response.content.decode()) == issued.token
    reply = json.loads(
        post_appeal(
            client,
            appeal_type,
            submission(appeal_type, fresh_photo_token=issued.token, contact_email="x"),
            HTTP_ACCEPT="application/json",
        ).content
    )
    assert "fresh_photo" not in reply


# Approval: the agent confirms the code in the handheld photo.


@pytest.fixture
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def handheld_single_approval(appeal_types):
    """A type approved by one person that asks for the handheld photo (the seeded ones are high-risk)."""
    appeal_type = appeal_types["access_card_unbind"]
    appeal_type.required_evidence = [*appeal_type.required_evidence, "id_handheld"]
    appeal_type.save()
    return appeal_type


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("action", ["approve", "propose_approval"])
def test_approving_a_handheld_type_needs_the_code_confirmed(appeal_types, handheld_single_approval, action):
    appeal_type = handheld_single_approval if action == "approve" else appeal_types["realname_unbind"]
    agent = AgentFactory()
    appeal = AppealFactory(appeal_type=appeal_type, state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    with pytest.raises(WorkflowError) as refused:
        agent_services.appeal_act(appeal=appeal, actor=agent, action=action)
    assert refused.value.message == (
        "Confirm that the code written on the paper in the handheld photo matches the appeal's code "
        f"({FRESH_PHOTO_CODE}) before approving."
    )
    appeal.refresh_from_db()
    assert appeal.state == "in_review" and appeal.fresh_photo_code_confirmed_by is None
    assert not AppealEvent.objects.filter(appeal=appeal, kind__in=[action, "fresh_photo_code_confirmed"]).exists()

    agent_services.appeal_act(appeal=appeal, actor=agent, action=action, code_matches=True)
    appeal.refresh_from_db()
    assert appeal.state in ("approved", "pending_approval")
    assert appeal.fresh_photo_code_confirmed_by == agent and appeal.fresh_photo_code_confirmed_at is not None
    event = AppealEvent.objects.get(appeal=appeal, kind="fresh_photo_code_confirmed")
    assert (event.actor, event.public, event.comment) == (agent, False, f"{FRESH_PHOTO_CODE} ({action})")


@pytest.mark.usefixtures("english")
def test_the_second_approver_confirms_the_code_too(appeal_types):
    agent, second = AgentFactory(), SupervisorFactory()
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"], state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_propose_approval(appeal=appeal, actor=agent, code_matches=True)
    with pytest.raises(WorkflowError):
        agent_services.appeal_second_approve(appeal=appeal, actor=second)
    agent_services.appeal_second_approve(appeal=appeal, actor=second, code_matches=True)
    appeal.refresh_from_db()
    assert appeal.state == "approved" and appeal.fresh_photo_code_confirmed_by == second
    assert AppealEvent.objects.filter(appeal=appeal, kind="fresh_photo_code_confirmed").count() == 2


@pytest.mark.usefixtures("english")
def test_a_type_without_the_handheld_photo_approves_without_the_confirmation(appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_approve(appeal=appeal, actor=agent)
    appeal.refresh_from_db()
    assert appeal.state == "approved" and appeal.fresh_photo_code_confirmed_by is None


@pytest.mark.usefixtures("en_client")
def test_the_console_shows_the_code_beside_the_handheld_photo_and_asks_for_the_confirmation(client, handheld_single_approval):
    agent = AgentFactory()
    client.force_login(agent)
    appeal = AppealFactory(appeal_type=handheld_single_approval, state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    url = reverse("desk:appeal", args=[appeal.reference])
    html = client.get(url).content.decode()
    figures = [part.split("</figure>")[0] for part in html.split("<figure")[1:]]
    handheld = next(figure for figure in figures if "id_handheld.jpg" in figure)
    assert f'<strong class="font-monospace fs-5">{FRESH_PHOTO_CODE}</strong>' in handheld  # under the photo
    assert not any(FRESH_PHOTO_CODE in figure for figure in figures if figure is not handheld)
    assert 'name="code_matches"' in html
    assert f"The code on the paper in the handheld photo matches {FRESH_PHOTO_CODE}" in html

    zh_html = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"手持照片中纸上的验证码与 {FRESH_PHOTO_CODE} 一致" in zh_html and "纸上应写的验证码" in zh_html

    act = reverse("desk:act", args=[appeal.reference])
    refused = client.post(act, {"action": "approve", "expected_state": "in_review"}, follow=True)
    assert "Confirm that the code written on the paper" in refused.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    client.post(act, {"action": "approve", "expected_state": "in_review", "code_matches": "on"})
    appeal.refresh_from_db()
    assert appeal.state == "approved" and appeal.fresh_photo_code_confirmed_by == agent


@pytest.mark.usefixtures("en_client")
def test_the_console_asks_no_confirmation_for_a_type_without_the_handheld_photo(client, appeal_types):
    agent = AgentFactory()
    client.force_login(agent)
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent)
    EvidenceFactory(appeal=appeal, kind="id_front")
    html = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert 'name="code_matches"' not in html

"""Structured requests and reasons (issue 18, item 3): a request for information names evidence kinds
with reason codes, the status page shows exactly those upload slots with their reasons, the answer
clears them; a rejection carries a reason code; the codes are counted in the metrics."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, console_act
from tickets.models import Appeal, AppealEvent, AppealReason, OutboundEmail, ReasonCode
from tickets.services import agent as agent_services
from tickets.services.errors import WorkflowError
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


def status_url(appeal) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference)])


def _in_review():
    agent = AgentFactory()
    client = Client()
    client.force_login(agent)
    return AppealFactory(state="in_review", assignee=agent, language="zh-hans"), client


def _nothing_stored(appeal, state="in_review") -> None:
    appeal.refresh_from_db()
    assert appeal.state == state
    assert not AppealReason.objects.filter(appeal=appeal).exists()
    assert not AppealEvent.objects.filter(appeal=appeal, kind__in=["request_info", "reject"]).exists()
    assert not OutboundEmail.objects.filter(appeal=appeal).exists()


def test_a_request_naming_id_back_blurred_shows_that_slot_in_chinese_and_the_upload_clears_it(
    appeal_types, reason_codes, evidence_root
):
    appeal, agent_client = _in_review()
    console_act(
        agent_client,
        appeal,
        "request_info",
        comment="请重新拍摄，四个角都要拍到。",
        request_kind=["id_back", ""],
        request_reason=["id_back_blurred", ""],
    )
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"
    (slot,) = AppealReason.objects.filter(appeal=appeal)
    assert (slot.use, slot.evidence_kind, slot.reason.code, slot.answered_at) == ("request", "id_back", "id_back_blurred", None)
    assert slot.event.kind == "request_info" and slot.event.comment == "请重新拍摄，四个角都要拍到。"
    # The e-mail lists the file and its reason, in the appellant's language (zh-hans).
    email = OutboundEmail.objects.get(appeal=appeal, template="request_info")
    assert "需要您发送的文件：\n- 身份证反面：身份证反面照片模糊\n" in email.body_text
    assert "身份证反面照片模糊" in email.body_html and "请重新拍摄" in email.body_text

    # The status page, in its default language, shows that slot with its reason, and an input for it.
    appellant = Client()
    html = appellant.get(status_url(appeal)).content.decode()
    assert html.count("data-requested-slot=") == 1
    assert '<li data-requested-slot="id_back" data-reason-code="id_back_blurred">身份证反面：身份证反面照片模糊</li>' in html
    assert 'data-upload-slot="id_back"' in html and 'name="evidence_id_back"' in html
    assert "为什么需要：身份证反面照片模糊" in html
    assert "The back of the ID card is blurred" not in html
    # In English, the English label.
    english = appellant.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">ID card, back: The back of the ID card is blurred</li>" in english

    # The answer: the file in its slot (no message needed); the slot is answered by it.
    response = appellant.post(status_url(appeal), {"answer": "provide_info", "evidence_id_back": files.jpeg("back.jpg")})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    slot.refresh_from_db()
    (added,) = Evidence.objects.filter(appeal=appeal)
    assert (added.kind, slot.answered_by, slot.answered_at is not None) == ("id_back", added, True)
    assert "data-requested-slot" not in appellant.get(status_url(appeal)).content.decode()


def test_an_answer_without_the_requested_file_is_refused_and_nothing_is_stored(appeal_types, reason_codes, evidence_root):
    appeal, _agent = _in_review()
    agent_services.appeal_request_info(
        appeal=appeal,
        actor=appeal.assignee,
        message="Two files, please.",
        requested=[("", "id_back_blurred"), ("", "device_log_missing")],
    )
    assert list(AppealReason.objects.filter(appeal=appeal).values_list("evidence_kind", flat=True)) == ["id_back", "device_log"]
    response = Client().post(
        status_url(appeal),
        {"answer": "provide_info", "evidence_id_back": files.jpeg("back.jpg")},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Please upload: Login device record." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"
    assert not Evidence.objects.filter(appeal=appeal).exists()
    assert not AppealReason.objects.filter(appeal=appeal, answered_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("kinds", "codes", "message"),
    [
        ([""], [""], "Name at least one file the appellant must send, each with its reason."),
        ([], [], "Name at least one file the appellant must send, each with its reason."),
        (["id_back"], ["no_such_code"], "Unknown reason code “no_such_code”."),
        (
            [""],
            ["documents_altered"],
            "“The documents or screenshots show signs of editing” is a reason for rejections, not for requests for information.",
        ),
        (["id_front"], ["id_back_blurred"], "“The back of the ID card is blurred” is about ID card, back, not ID card, front."),
        ([""], ["other"], "Choose which file “Other reason (see the explanation)” is about."),
        (["id_back"], [""], "Choose a reason for: ID card, back."),
        (["passport"], ["other"], "Unknown evidence kind “passport”."),
        (
            ["id_back", "id_back"],
            ["id_back_blurred", "id_expired"],
            "ID card, back is asked for twice: give one reason for each file.",
        ),
    ],
)
def test_a_bad_request_says_why_and_stores_nothing(appeal_types, reason_codes, kinds, codes, message):
    appeal, agent_client = _in_review()
    data = {"comment": "Please send these.", "request_kind": kinds, "request_reason": codes}
    html = console_act(agent_client, appeal, "request_info", **data).content.decode()
    assert message in html
    _nothing_stored(appeal)


def test_an_inactive_code_cannot_be_used_and_is_not_offered(appeal_types, reason_codes):
    appeal, agent_client = _in_review()
    ReasonCode.objects.filter(code="id_back_blurred").update(is_active=False)
    page = agent_client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="id_front_blurred">' in page and '<option value="id_back_blurred">' not in page
    html = console_act(
        agent_client, appeal, "request_info", comment="Again.", request_kind=["id_back"], request_reason=["id_back_blurred"]
    ).content.decode()
    assert "The reason “The back of the ID card is blurred” is no longer in use: choose another." in html
    _nothing_stored(appeal)


def test_too_many_rows_are_refused(appeal_types, reason_codes):
    appeal, agent_client = _in_review()
    html = console_act(
        agent_client, appeal, "request_info", comment="x", request_kind=["id_back"] * 9, request_reason=["other"] * 9
    ).content.decode()
    assert "Too many files asked for at once." in html
    _nothing_stored(appeal)


def test_a_rejection_carries_its_code_to_the_appellant_in_their_language(appeal_types, reason_codes):
    appeal, agent_client = _in_review()
    console_act(agent_client, appeal, "reject", comment="照片中的人与证件不符。", reason_code="holder_mismatch")
    appeal.refresh_from_db()
    assert appeal.state == "rejected"
    (reason,) = AppealReason.objects.filter(appeal=appeal)
    assert (reason.use, reason.reason.code, reason.evidence_kind) == ("rejection", "holder_mismatch", "id_handheld")
    email = OutboundEmail.objects.get(appeal=appeal, template="rejected")
    assert "原因:\n手持证件照中的人与证件不符\n照片中的人与证件不符。" in email.body_text
    assert 'data-reason-code="holder_mismatch"' in email.body_html
    html = Client().get(status_url(appeal)).content.decode()
    assert '<p class="mb-0" data-rejection-reason="holder_mismatch">原因：手持证件照中的人与证件不符</p>' in html
    english = Client().get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-rejection-reason="holder_mismatch">Reason: The person in the handheld photo is not the ID card' in english


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("", "Choose the reason for the rejection from the list."),
        ("no_such_code", "Unknown reason code “no_such_code”."),
        (
            "id_back_blurred",
            "“The back of the ID card is blurred” is a reason for requests for information, not for rejections.",
        ),
    ],
)
def test_a_rejection_without_a_valid_code_is_refused_and_nothing_is_stored(appeal_types, reason_codes, code, message):
    appeal, agent_client = _in_review()
    html = console_act(agent_client, appeal, "reject", comment="Not the owner.", reason_code=code).content.decode()
    assert message in html
    _nothing_stored(appeal)


def test_a_rejection_with_an_inactive_code_is_refused(appeal_types, reason_codes):
    appeal, _client = _in_review()
    ReasonCode.objects.filter(code="documents_altered").update(is_active=False)
    with pytest.raises(WorkflowError, match="no longer in use"):
        agent_services.appeal_reject(appeal=appeal, actor=appeal.assignee, reason="Edited.", reason_code="documents_altered")
    _nothing_stored(appeal)


def test_the_console_offers_the_codes_for_each_action(appeal_types, reason_codes):
    appeal, agent_client = _in_review()
    page = agent_client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    request_form = page[
        page.index('data-action="request_info"') : page.index("</form>", page.index('data-action="request_info"'))
    ]
    reject_form = page[page.index('data-action="reject"') : page.index("</form>", page.index('data-action="reject"'))]
    assert request_form.count('name="request_kind"') == 3 and request_form.count('name="request_reason"') == 3
    assert '<option value="id_back_blurred">The back of the ID card is blurred</option>' in request_form
    assert 'value="documents_altered"' not in request_form
    assert '<option value="documents_altered">The documents or screenshots show signs of editing</option>' in reject_form
    assert 'value="id_back_blurred"' not in reject_form and 'name="reason_code" required' in reject_form


def test_the_metrics_count_each_code_in_requests_and_rejections_by_type(appeal_types, reason_codes):
    agent, supervisor = AgentFactory(), SupervisorFactory()
    for _ in range(2):
        appeal = AppealFactory(state="in_review", assignee=agent)
        agent_services.appeal_request_info(
            appeal=appeal, actor=agent, message="Again.", requested=[("", "id_front_blurred"), ("id_back", "id_expired")]
        )
    other_type = AppealFactory(state="in_review", assignee=agent, appeal_type=appeal_types["phone_rebind"])
    agent_services.appeal_reject(appeal=other_type, actor=agent, reason="Expired.", reason_code="id_expired")
    client = Client()
    client.force_login(supervisor)
    html = client.get(reverse("desk:metrics"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index('data-reason-code="id_expired"') : html.index("</tr>", html.index('data-reason-code="id_expired"'))]
    assert '<td class="text-end font-monospace" data-requests>2</td>' in row
    assert '<td class="text-end font-monospace" data-rejections>1</td>' in row
    assert 'data-by-type="realname_unbind"><span class="font-monospace">realname_unbind</span> 2 / 0' in row
    assert 'data-by-type="phone_rebind"><span class="font-monospace">phone_rebind</span> 0 / 1' in row

    rows = list(csv.reader(io.StringIO(client.get(reverse("desk:metrics") + "?format=csv").content.decode())))
    assert ["reason_code_requests", "id_front_blurred", "", "", "2"] in rows
    assert ["reason_code_rejections", "id_front_blurred", "", "", "0"] in rows
    assert ["reason_code_requests", "id_expired", "", "", "2"] in rows
    assert ["reason_code_rejections", "id_expired", "", "", "1"] in rows
    assert ["reason_code_requests_by_type", "realname_unbind id_expired", "", "", "2"] in rows
    assert ["reason_code_rejections_by_type", "phone_rebind id_expired", "", "", "1"] in rows
    assert ["reason_code_requests", "documents_altered", "", "", "0"] in rows  # unused codes are listed too


def test_a_code_for_neither_requests_nor_rejections_is_refused(reason_codes):
    code = ReasonCode(code="nowhere", label_zh_hans="无", label_en="Nowhere", for_requests=False, for_rejections=False)
    with (
        translation.override("en"),
        pytest.raises(ValidationError, match="for requests for information, for rejections, or both"),
    ):
        code.full_clean()
    with pytest.raises(ValidationError, match="原因代码须用于补充信息请求、驳回，或两者皆可。"):  # zh-hans by default
        code.full_clean()


def test_the_admin_lists_the_codes_with_their_uses(admin_client, appeal_types, reason_codes):
    appeal, _client = _in_review()
    agent_services.appeal_reject(appeal=appeal, actor=appeal.assignee, reason="Edited.", reason_code="documents_altered")
    html = admin_client.get(reverse("admin:tickets_reasoncode_changelist"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "id_back_blurred" in html and "身份证反面照片模糊" in html
    assert Appeal.objects.get(pk=appeal.pk).state == "rejected"
    response = admin_client.post(
        reverse("admin:tickets_reasoncode_add"),
        {"code": "nowhere", "label_zh_hans": "无", "label_en": "Nowhere", "evidence_kind": "", "position": 0, "is_active": "on"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "for requests for information, for rejections, or both" in response.content.decode()
    assert not ReasonCode.objects.filter(code="nowhere").exists()

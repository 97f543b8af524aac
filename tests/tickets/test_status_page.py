"""The appellant's status page: answering a request for information, reopening a rejected appeal."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence, EvidenceAccess
from evidence.validation import evidence_sniff
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, appeal_worked_on
from tickets.models import AppealEvent, OutboundEmail
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


def status_url(appeal) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference)])


def test_answer_with_a_new_photo_returns_the_appeal_to_its_agent(client, appeal_types, evidence_root):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    response = client.post(
        status_url(appeal),
        {
            "action": "provide_info",
            "message": "Sharper photo attached.",
            "kind": "id_back",
            "files": [files.jpeg("back.jpg"), files.upload("scan.pdf", files.pdf_bytes(), "application/pdf")],
        },
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    assert sorted(Evidence.objects.filter(appeal=appeal).values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/jpeg",
    ]
    assert len([p for p in Path(evidence_root).rglob("*") if p.is_file()]) == 2


def test_a_bad_file_in_the_answer_is_refused_and_nothing_changes(en_client, appeal_types, evidence_root):
    appeal = AppealFactory(state="awaiting_info", sla_paused_at=timezone.now())
    response = en_client.post(
        status_url(appeal),
        {
            "action": "provide_info",
            "message": "Here.",
            "kind": "other",
            "files": files.upload("photo.jpg", files.elf_executable_bytes(), "image/jpeg"),
        },
    )
    assert response.status_code == 400
    assert "is not a JPEG, PNG or WebP image or a PDF" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"
    assert Evidence.objects.count() == 0 and not any(Path(evidence_root).rglob("*.*"))
    assert not AppealEvent.objects.filter(kind="provide_info").exists()


def test_reopen_needs_a_new_file(en_client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now(), decision_reason="Blurry.")
    response = en_client.post(status_url(appeal), {"action": "reopen", "message": "New photo."})
    assert response.status_code == 400
    assert "Add at least one new file." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "rejected"


def test_reopen_with_new_evidence_within_7_days(en_client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now() - timedelta(days=3))
    page = en_client.get(status_url(appeal)).content.decode()
    assert "Reopen with new evidence" in page
    response = en_client.post(
        status_url(appeal),
        {
            "action": "reopen",
            "message": "A sharper photo.",
            "kind": "id_front",
            "files": files.jpeg("front.jpg"),
        },
    )
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def test_no_reopen_offered_after_7_days(en_client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now() - timedelta(days=8))
    page = en_client.get(status_url(appeal)).content.decode()
    assert "Reopen with new evidence" not in page
    response = en_client.post(
        status_url(appeal),
        {
            "action": "reopen",
            "message": "Late.",
            "kind": "id_front",
            "files": files.jpeg("front.jpg"),
        },
        follow=True,
    )
    assert "This appeal changed in the meantime: nothing was sent." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "rejected"
    assert Evidence.objects.count() == 0


# --- Replacing a file that processing refused ------------------------------------------------------


def _refused(appeal, kind="id_back"):
    return EvidenceFactory(
        appeal=appeal,
        kind=kind,
        status="rejected",
        file="",
        original_name="back.png",
        status_reason="This image has too many pixels.",
    )


def _files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def _replace(client, appeal, refused, upload, **extra):
    body = {"action": "replace", "evidence": str(refused.pk), **extra}
    if upload is not None:
        body[f"replace-{refused.pk}-file"] = upload
    return client.post(status_url(appeal), body, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("state", ["submitted", "in_review", "awaiting_info", "pending_approval", "escalated"])
def test_a_refused_file_is_replaced_from_the_status_page_in_every_open_state(en_client, appeal_types, evidence_root, state):
    agent = AgentFactory(email="holder@example.com")
    appeal = AppealFactory(
        state=state,
        assignee=None if state == "submitted" else agent,
        sla_paused_at=timezone.now() if state == "awaiting_info" else None,
    )
    refused = _refused(appeal)
    page = en_client.get(status_url(appeal)).content.decode()
    assert "data-refused-notice" in page and "We could not use one of the files you sent." in page
    assert f'data-replace-form="{refused.pk}"' in page and "Replace this file" in page

    response = _replace(en_client, appeal, refused, files.jpeg("back-again.jpg"))
    assert response.status_code == 302
    replacement = Evidence.objects.get(replaces=refused)
    assert (replacement.kind, replacement.status, replacement.original_name) == ("id_back", "pending", "back-again.jpg")
    assert len(_files(evidence_root)) == 1
    event = AppealEvent.objects.get(appeal=appeal, kind="evidence_replaced")
    assert (event.public, event.actor_label) == (True, "appellant")
    appeal.refresh_from_db()
    assert appeal.state == state  # a replacement does not move the appeal
    told = list(OutboundEmail.objects.filter(template="evidence_replaced_staff").values_list("to", flat=True))
    assert told == ([] if state == "submitted" else ["holder@example.com"])  # unassigned: it waits in the queue

    page = en_client.get(status_url(appeal)).content.decode()
    assert "data-replace-form" not in page and "You have replaced this file." in page


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            lambda: files.upload("back.jpg", files.elf_executable_bytes(), "image/jpeg"),
            "is not a JPEG, PNG or WebP image or a PDF",
        ),
        (lambda: files.upload("back.jpg", files.truncated_jpeg_bytes(), "image/jpeg"), "This image is damaged or incomplete"),
        (lambda: files.upload("back.jpg", files.polyglot_jpeg_html_bytes(), "image/jpeg"), "web page code or an archive"),
        (lambda: None, "Choose the new file first."),
    ],
)
def test_a_bad_replacement_is_refused_next_to_its_file_and_nothing_is_stored(
    client, appeal_types, evidence_root, upload, message
):
    appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    refused = _refused(appeal)
    response = _replace(client, appeal, refused, upload())
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert html.index(message) > html.index(f'data-replace-form="{refused.pk}"')  # under that file
    assert Evidence.objects.count() == 1 and _files(evidence_root) == []
    assert not AppealEvent.objects.filter(kind="evidence_replaced").exists()
    assert not OutboundEmail.objects.exists()


def test_a_replacement_keeps_the_per_appeal_limits(client, appeal_types, evidence_root, settings):
    settings.EVIDENCE_MAX_FILES = 2
    appeal = AppealFactory(state="in_review")
    EvidenceFactory(appeal=appeal, kind="id_front")
    EvidenceFactory(appeal=appeal, kind="id_handheld")
    refused = _refused(appeal)
    kept = len(_files(evidence_root))
    response = _replace(client, appeal, refused, files.jpeg("back.jpg"))
    assert response.status_code == 400
    assert "Too many files: at most 2 per appeal (you chose 3)." in response.content.decode()
    assert not Evidence.objects.filter(replaces=refused).exists() and len(_files(evidence_root)) == kept


@pytest.mark.parametrize("state", ["approved", "rejected", "withdrawn", "closed"])
def test_no_replacement_once_the_appeal_is_decided_or_closed(en_client, appeal_types, evidence_root, state):
    appeal = AppealFactory(state=state, closed_at=timezone.now())
    refused = _refused(appeal)
    assert "data-replace-form" not in en_client.get(status_url(appeal)).content.decode()
    response = _replace(en_client, appeal, refused, files.jpeg("back.jpg"))
    assert response.status_code == 302
    page = en_client.get(response["Location"]).content.decode()
    assert "This file can no longer be replaced." in page
    assert Evidence.objects.count() == 1 and _files(evidence_root) == []


def test_only_a_refused_file_is_replaced_and_only_once(client, appeal_types, evidence_root):
    appeal = AppealFactory(state="in_review")
    ready = EvidenceFactory(appeal=appeal, kind="id_front")
    refused = _refused(appeal)
    assert _replace(client, appeal, ready, files.jpeg("front.jpg")).status_code == 302
    assert _replace(client, appeal, refused, files.jpeg("back.jpg", seed=2)).status_code == 302
    assert _replace(client, appeal, refused, files.jpeg("back.jpg", seed=3)).status_code == 302
    assert Evidence.objects.count() == 3 and Evidence.objects.filter(replaces=refused).count() == 1
    assert len(_files(evidence_root)) == 2  # the ready photo and the one replacement


def test_the_service_refuses_a_second_replacement(appeal_types, evidence_root):
    from tickets.services.appellant import EvidenceReplaceRefused, evidence_replace

    appeal = AppealFactory(state="in_review")
    refused = _refused(appeal)
    upload = files.jpeg("back.jpg")
    evidence_replace(appeal=appeal, evidence=refused, upload=(upload, evidence_sniff(upload)))
    again = files.jpeg("back2.jpg", seed=5)
    with pytest.raises(EvidenceReplaceRefused, match="already been replaced"):
        evidence_replace(appeal=appeal, evidence=refused, upload=(again, evidence_sniff(again)))
    assert Evidence.objects.filter(replaces=refused).count() == 1 and len(_files(evidence_root)) == 1


def test_the_refusal_is_on_the_status_page_in_the_appellants_language(client, appeal_types):
    appeal = AppealFactory(state="in_review", language="zh-hans")
    _refused(appeal)
    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "替换此文件" in page and "data-refused-notice" in page


# --- What the page says, and how, in each language --------------------------------------------------


def _in_review_with_a_ready_file(**extra):
    due = datetime(2026, 11, 30, 2, 5, tzinfo=UTC)  # 10:05 in Beijing
    appeal = AppealFactory(state="in_review", assignee=AgentFactory(), sla_due_at=due, **extra)
    ready = EvidenceFactory(appeal=appeal, kind="id_front")
    return appeal, ready


def test_the_status_page_in_chinese_uses_full_width_punctuation_and_beijing_time(client, appeal_types):
    appeal, ready = _in_review_with_a_ready_file()
    AppealEvent.objects.create(appeal=appeal, kind="claim", comment="已开始审核", public=True)
    html = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "当前进度：" in html and "当前进度:" not in html
    assert f"（{filesizeformat(ready.size)}，已就绪）" in html
    assert '我们承诺在 <strong class="text-nowrap">2026-11-30 10:05</strong>（北京时间）前给您答复。' in html
    assert f"{zh('Claimed by an agent')}：已开始审核" in html
    assert "CST" not in html and "(CST)" not in html
    for half_width in (": <", ", 已", "已就绪)", ").</p>"):
        assert half_width not in html


def test_the_status_page_in_english_names_beijing_time_and_keeps_dates_whole(en_client, appeal_types):
    appeal, ready = _in_review_with_a_ready_file(language="en")
    html = en_client.get(status_url(appeal)).content.decode()

    assert "Where it stands:" in html
    assert f"({filesizeformat(ready.size)}, Ready)" in html
    assert 'We promise an answer by <strong class="text-nowrap">2026-11-30 10:05</strong> (Beijing time).' in html
    assert "CST" not in html
    created = timezone.localtime(appeal.created_at).strftime("%Y-%m-%d %H:%M")
    assert f'<span class="text-nowrap">{created}</span>' in html


def _awaiting_info(question="Please send a sharper photo of the back of your ID card, with all four corners."):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    AppealEvent.objects.create(
        appeal=appeal,
        kind="request_info",
        actor=agent,
        comment="An older question.",
        created_at=timezone.now() - timedelta(days=2),
        public=True,
    )
    AppealEvent.objects.create(appeal=appeal, kind="request_info", actor=agent, comment=question, public=True)
    return appeal


def test_a_request_for_information_is_shown_with_the_answer_form_at_the_top(en_client, appeal_types, settings):
    appeal = _awaiting_info()
    EvidenceFactory(appeal=appeal, kind="id_front", verified_at=timezone.now())
    _refused(appeal, kind="id_back")
    EvidenceFactory(appeal=appeal, kind="id_handheld")
    html = en_client.get(status_url(appeal)).content.decode()

    question = html.index("Please send a sharper photo of the back of your ID card, with all four corners.")
    form = html.index("data-answer-form")
    assert html.index('id="state-heading"') < question < form < html.index('id="evidence-heading"')
    assert html.count("data-answer-form") == 1 and "An older question." not in html[:form]
    assert "see the e-mail we sent." not in html
    top = html[html.rindex("<form", 0, form) : html.index('id="evidence-heading"')]
    assert '<option value="id_back" selected>' in top  # the required kind that was refused
    assert "data-upload-form" in top and "data-progress" in top
    image, total = filesizeformat(settings.EVIDENCE_MAX_IMAGE_BYTES), filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES)
    assert (
        f"Photos (JPEG, PNG or WebP) or PDF files, up to {image} each. At most {settings.EVIDENCE_MAX_FILES} "
        f"files and {total} per appeal, counting the files you already sent."
    ) in top


def test_the_request_and_its_answer_form_in_chinese(client, appeal_types):
    appeal = _awaiting_info(question="请重新拍摄身份证反面，四个角都要拍到。")
    html = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "我们需要您补充信息。我们的问题和回复表单就在下方。" in html
    assert "我们的问题（发送于" in html and "北京时间）：" in html
    assert html.index("请重新拍摄身份证反面") < html.index("data-answer-form") < html.index('id="evidence-heading"')
    assert '<option value="id_front" selected>' in html  # nothing sent yet: the first required kind


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ({"id_front": "verified", "id_back": "verified", "id_handheld": "verified"}, "other"),
        ({"id_front": "verified", "id_back": "ready", "id_handheld": "verified"}, "id_back"),
        ({"id_front": "ready", "id_back": "verified"}, "id_handheld"),  # missing comes before unverified
        ({"id_front": "rejected", "id_back": "verified", "id_handheld": "verified"}, "id_front"),
    ],
)
def test_the_answer_form_preselects_the_kind_most_likely_asked_for(en_client, appeal_types, sent, expected):
    appeal = _awaiting_info()
    for kind, state in sent.items():
        if state == "rejected":
            _refused(appeal, kind=kind)
        else:
            EvidenceFactory(appeal=appeal, kind=kind, verified_at=timezone.now() if state == "verified" else None)
    html = en_client.get(status_url(appeal)).content.decode()
    assert f'<option value="{expected}" selected>' in html


def test_the_answer_sent_by_the_page_script_gets_json(en_client, appeal_types, evidence_root):
    appeal = _awaiting_info()
    url = status_url(appeal)
    bad = {
        "action": "provide_info",
        "message": "Here.",
        "kind": "id_back",
        "files": files.upload("back.jpg", files.elf_executable_bytes(), "image/jpeg"),
    }
    response = en_client.post(url, bad, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "is not a JPEG, PNG or WebP image or a PDF" in " ".join(response.json()["errors"]["files"])
    assert Evidence.objects.count() == 0 and _files(evidence_root) == []
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"

    good = {"action": "provide_info", "message": "Sharper photo.", "kind": "id_back", "files": files.jpeg("back.jpg")}
    response = en_client.post(url, good, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json() == {"redirect": url}
    appeal.refresh_from_db()
    assert appeal.state == "in_review" and Evidence.objects.get().kind == "id_back"


@pytest.mark.parametrize(
    ("language", "label", "not_label"), [("zh-hans", "需重新上传", "已驳回"), ("en", "Needs a new upload", "Rejected")]
)
def test_a_refused_file_is_labelled_needs_a_new_upload_not_rejected(client, appeal_types, language, label, not_label):
    appeal = AppealFactory(state="in_review", language=language)
    refused = _refused(appeal)
    html = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    row = html[html.index(f'id="evidence-{refused.pk}"') :]
    row = row[: row.index("</li>")]
    assert label in row and not_label not in row


def test_every_state_has_an_explanation_for_the_appellant():
    from tickets.models import AppealState
    from tickets.portal.state_explained import STATE_EXPLAINED

    assert set(STATE_EXPLAINED) == set(AppealState.values)
    assert all(str(text) for text in STATE_EXPLAINED.values())


@pytest.mark.parametrize(
    ("state", "explained"),
    [
        ("submitted", "We have your appeal. An agent will pick it up soon."),
        ("in_review", "An agent is checking your appeal and your evidence."),
        ("pending_approval", "Your appeal is waiting for a second approval, as required for this kind of request."),
        ("escalated", "A supervisor is handling your appeal."),
        ("approved", "Your appeal was approved. We have e-mailed you the next steps."),
        ("rejected", "Your appeal was rejected. The e-mail we sent explains why and how to reopen it."),
        ("withdrawn", "You withdrew this appeal."),
        ("closed", "This appeal is closed."),
    ],
)
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_status_page_explains_the_state(client, appeal_types, state, explained, language):
    appeal = AppealFactory(state=state, closed_at=timezone.now())
    html = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    expected = zh(explained) if language == "zh-hans" else explained
    assert f'<p class="mb-1" data-state-explained>{expected}</p>' in html


def test_awaiting_information_without_a_written_question_points_to_the_email(client, appeal_types):
    appeal = AppealFactory(state="awaiting_info")
    html = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "We need more information from you: see the e-mail we sent, and answer with the form just below." in html
    assert "Our question and the answer form are just below." not in html


@pytest.mark.parametrize("size", [3, 12])
def test_status_page_runs_the_same_5_queries_however_many_files_and_events(client, appeal_types, django_assert_num_queries, size):
    agent, supervisor = AgentFactory(), SupervisorFactory()
    appeal = appeal_worked_on(size=size, agent=agent, supervisor=supervisor)
    for _ in range(size):  # refused and not yet replaced: each shows its replacement form
        EvidenceFactory(appeal=appeal, kind="id_handheld", status="rejected", status_reason="Blurred.")
    for evidence in appeal.evidence.all():  # each viewed by staff of both roles and by the appellant
        for viewer in (agent, supervisor, None):
            EvidenceAccess.objects.create(evidence=evidence, user=viewer, by_appellant=viewer is None)
    url = status_url(appeal)
    client.get(url)
    # The appeal with its type, its files, its public events; who viewed the files (by role); the
    # session (the link's grant). An N+1 (a query per file, event or view, or per refused file's
    # replacement form) fails here.
    with django_assert_num_queries(5):
        assert client.get(url).status_code == 200

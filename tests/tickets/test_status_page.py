"""The appellant's status page: answering a request for information, reopening a rejected appeal."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence
from evidence.validation import evidence_sniff
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealEvent, OutboundEmail
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


def status_url(appeal) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference)])


def test_answer_with_a_new_photo_returns_the_appeal_to_its_agent(client, appeal_types, evidence_root):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    response = client.post(status_url(appeal), {
        "action": "provide_info", "message": "Sharper photo attached.", "kind": "id_back",
        "files": [files.jpeg("back.jpg"), files.upload("scan.pdf", files.pdf_bytes(), "application/pdf")],
    })
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    assert sorted(Evidence.objects.filter(appeal=appeal).values_list("content_type", flat=True)) == [
        "application/pdf", "image/jpeg"]
    assert len([p for p in Path(evidence_root).rglob("*") if p.is_file()]) == 2


def test_a_bad_file_in_the_answer_is_refused_and_nothing_changes(client, appeal_types, evidence_root):
    appeal = AppealFactory(state="awaiting_info", sla_paused_at=timezone.now())
    response = client.post(status_url(appeal), {
        "action": "provide_info", "message": "Here.", "kind": "other",
        "files": files.upload("photo.jpg", files.elf_executable_bytes(), "image/jpeg"),
    }, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "is not a JPEG, PNG or WebP image or a PDF" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"
    assert Evidence.objects.count() == 0 and not any(Path(evidence_root).rglob("*.*"))
    assert not AppealEvent.objects.filter(kind="provide_info").exists()


def test_reopen_needs_a_new_file(client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now(), decision_reason="Blurry.")
    response = client.post(status_url(appeal), {"action": "reopen", "message": "New photo."}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Add at least one new file." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "rejected"


def test_reopen_with_new_evidence_within_7_days(client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now() - timedelta(days=3))
    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reopen with new evidence" in page
    response = client.post(status_url(appeal), {
        "action": "reopen", "message": "A sharper photo.", "kind": "id_front", "files": files.jpeg("front.jpg"),
    })
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def test_no_reopen_offered_after_7_days(client, appeal_types):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now() - timedelta(days=8))
    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reopen with new evidence" not in page
    response = client.post(status_url(appeal), {
        "action": "reopen", "message": "Late.", "kind": "id_front", "files": files.jpeg("front.jpg"),
    }, HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert "This appeal changed in the meantime: nothing was sent." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "rejected"
    assert Evidence.objects.count() == 0


# --- Replacing a file that processing refused ------------------------------------------------------

def _refused(appeal, kind="id_back"):
    return EvidenceFactory(appeal=appeal, kind=kind, status="rejected", file="", original_name="back.png",
                           status_reason="This image has too many pixels.")


def _files(root) -> list[Path]:
    return [p for p in Path(root).rglob("*") if p.is_file()]


def _replace(client, appeal, refused, upload, **extra):
    body = {"action": "replace", "evidence": str(refused.pk), **extra}
    if upload is not None:
        body[f"replace-{refused.pk}-file"] = upload
    return client.post(status_url(appeal), body, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.parametrize("state", ["submitted", "in_review", "awaiting_info", "pending_approval", "escalated"])
def test_a_refused_file_is_replaced_from_the_status_page_in_every_open_state(client, appeal_types, evidence_root, state):
    agent = AgentFactory(email="holder@example.com")
    appeal = AppealFactory(state=state, assignee=None if state == "submitted" else agent,
                           sla_paused_at=timezone.now() if state == "awaiting_info" else None)
    refused = _refused(appeal)
    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-refused-notice" in page and "We could not use one of the files you sent." in page
    assert f'data-replace-form="{refused.pk}"' in page and "Replace this file" in page

    response = _replace(client, appeal, refused, files.jpeg("back-again.jpg"))
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

    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "data-replace-form" not in page and "You have replaced this file." in page


@pytest.mark.parametrize(("upload", "message"), [
    (lambda: files.upload("back.jpg", files.elf_executable_bytes(), "image/jpeg"), "is not a JPEG, PNG or WebP image or a PDF"),
    (lambda: files.upload("back.jpg", files.truncated_jpeg_bytes(), "image/jpeg"), "This image is damaged or incomplete"),
    (lambda: files.upload("back.jpg", files.polyglot_jpeg_html_bytes(), "image/jpeg"), "web page code or an archive"),
    (lambda: None, "Choose the new file first."),
])
def test_a_bad_replacement_is_refused_next_to_its_file_and_nothing_is_stored(client, appeal_types, evidence_root, upload, message):
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
def test_no_replacement_once_the_appeal_is_decided_or_closed(client, appeal_types, evidence_root, state):
    appeal = AppealFactory(state=state, closed_at=timezone.now())
    refused = _refused(appeal)
    assert "data-replace-form" not in client.get(status_url(appeal)).content.decode()
    response = _replace(client, appeal, refused, files.jpeg("back.jpg"))
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
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
    from tickets.services import EvidenceReplaceRefused, evidence_replace

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
    assert "替换此文件" in page and 'data-refused-notice' in page

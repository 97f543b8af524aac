"""The appellant's status page: answering a request for information, reopening a rejected appeal."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealEvent
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

"""A file refused by processing, end to end with a real Celery worker and a real SMTP server: the
appellant is told (e-mail and status page, in their language), replaces it from the status page, the
agent holding the appeal is told, and the appeal cannot be approved until the replacement is ready
and verified."""

import re

import pytest
from django.urls import reverse
from django.utils import translation

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, submission
from tickets.models import Appeal, AppealEvent, OutboundEmail
from tickets.services.agent import appeal_claim, appeal_propose_approval, appeal_second_approve, evidence_set_verified
from tickets.services.errors import WorkflowError
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db(transaction=True)

PROCESS = "evidence.tasks.evidence_process"
DELIVER = "tickets.tasks.email_deliver"


def corrupt_png(name="back.png"):
    return files.upload(name, files.png_with_corrupt_pixel_data_bytes(), "image/png")


def mail_to(sink, address: str) -> list:
    return [m for m in sink.messages if m["To"] == address]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message) -> str:
    return re.search(r"http://testserver(/appeals/status/\S+/)", text_of(message)).group(1)


def test_a_refused_id_back_is_told_replaced_and_only_then_approved(
    client, appeal_types, celery_worker, smtp_server, evidence_root
):
    appeal_type = appeal_types["account_recovery"]
    # First try: a PDF that cannot be read as the ID front is refused at once, next to its field.
    unreadable = files.upload("front.pdf", files.unreadable_pdf_bytes(), "application/pdf")
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, language="zh-hans", evidence_id_front=unreadable),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    with translation.override("zh-hans"):
        damaged = translation.gettext("This PDF is damaged and cannot be read. Please export it again.")
    assert damaged != "This PDF is damaged and cannot be read. Please export it again."
    assert damaged in " ".join(response.context["form"].uploads.errors["evidence_id_front"])
    assert Appeal.objects.count() == Evidence.objects.count() == OutboundEmail.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []

    # Second try: the ID back passes the upload checks but processing refuses it.
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, language="zh-hans", evidence_id_back=corrupt_png()),
    )
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    celery_worker.finished.wait_for(PROCESS, count=3)
    refused = Evidence.objects.get(kind="id_back")
    assert refused.status == "rejected" and not refused.file

    # Told by e-mail, in Chinese, with the tracking link (and the acknowledgement).
    smtp_server.wait_for(2)
    (notice,) = [m for m in mail_to(smtp_server, appeal.contact_email) if "无法使用" in m["Subject"]]
    assert appeal.reference in notice["Subject"]
    assert "身份证反面" in text_of(notice) and "back.png" in text_of(notice)
    assert "替换此文件" in text_of(notice)
    assert "替换此文件" in notice.get_body(preferencelist=("html",)).get_content()

    # An agent takes the appeal; the status page (in Chinese) offers to replace the file.
    agent, supervisor, second = AgentFactory(email="agent@example.com"), SupervisorFactory(), SupervisorFactory()
    appeal_claim(appeal=appeal, actor=agent)
    status = link_in(notice)
    page = client.get(status, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "data-refused-notice" in page and f'data-replace-form="{refused.pk}"' in page

    # While the ID back is refused, the appeal cannot be proposed for approval, even if the old file
    # had been verified.
    for item in appeal.evidence.exclude(pk=refused.pk):
        evidence_set_verified(evidence=item, actor=agent, verified=True)
    Evidence.objects.filter(pk=refused.pk).update(verified_at=refused.created_at)
    with translation.override("en"), pytest.raises(WorkflowError, match="the file was refused, a replacement is needed"):
        appeal_propose_approval(appeal=appeal, actor=agent, code_matches=True)

    response = client.post(
        status,
        {"action": "replace", "evidence": str(refused.pk), f"replace-{refused.pk}-file": files.jpeg("back-again.jpg", seed=9)},
    )
    assert response.status_code == 302
    celery_worker.finished.wait_for(PROCESS, count=4)
    replacement = Evidence.objects.get(replaces=refused)
    assert (replacement.kind, replacement.status) == ("id_back", "ready")

    # The agent holding the appeal is told.
    smtp_server.wait_for(3)
    (told,) = mail_to(smtp_server, "agent@example.com")
    assert appeal.reference in told["Subject"] and "back-again.jpg" in text_of(told)

    # Ready but not verified: still blocked; verified: proposed and approved by a second supervisor.
    with translation.override("en"), pytest.raises(WorkflowError, match="ID card, back is not verified yet."):
        appeal_propose_approval(appeal=appeal, actor=agent, code_matches=True)
    evidence_set_verified(evidence=replacement, actor=agent, verified=True)
    appeal_propose_approval(appeal=appeal, actor=supervisor, code_matches=True)
    appeal_second_approve(appeal=appeal, actor=second, code_matches=True)
    appeal.refresh_from_db()
    assert appeal.state == "approved"
    assert list(
        AppealEvent.objects.filter(appeal=appeal, kind__in=["evidence_rejected", "evidence_replaced"]).values_list(
            "kind", flat=True
        )
    ) == ["evidence_rejected", "evidence_replaced"]


def test_a_refused_replacement_tells_the_appellant_and_the_assignee_again(en_client, appeal_types, celery_worker, smtp_server):
    agent = AgentFactory(email="holder@example.com")
    appeal = AppealFactory(state="awaiting_info", assignee=agent, language="en")
    refused = Evidence.objects.create(
        appeal=appeal,
        kind="id_front",
        status="rejected",
        original_name="front.png",
        content_type="image/png",
        size=10,
        sha256="0" * 64,
    )
    status = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    response = en_client.post(
        status, {"action": "replace", "evidence": str(refused.pk), f"replace-{refused.pk}-file": corrupt_png("front-again.png")}
    )
    assert response.status_code == 302
    celery_worker.finished.wait_for(PROCESS)
    again = Evidence.objects.get(replaces=refused)
    assert again.status == "rejected"
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"  # replacing a file answers no request by itself

    # The assignee: told of the replacement, then of its refusal; the appellant: of the refusal.
    smtp_server.wait_for(3)
    staff = sorted(m["Subject"] for m in mail_to(smtp_server, "holder@example.com"))
    assert len(staff) == 2 and all(appeal.reference in s for s in staff)
    (notice,) = mail_to(smtp_server, appeal.contact_email)
    assert "could not be used: please replace it" in notice["Subject"]
    assert "front-again.png" in text_of(notice) and "/appeals/status/" in text_of(notice)
    assert OutboundEmail.objects.filter(template__in=["evidence_refused", "evidence_refused_staff"]).count() == 2

    # The refused replacement can itself be replaced, from the page the e-mail links to.
    page = en_client.get(link_in(notice)).content.decode()
    assert f'data-replace-form="{again.pk}"' in page and f'data-replace-form="{refused.pk}"' not in page

"""What the appellant is told when the appeal no longer allows what they tried (`WorkflowError`, never
django-fsm's own exception), with nothing stored; and the one helper for e-mails to the appellant."""

import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone, translation

from evidence.models import Evidence
from tests import files
from tests.text import zh
from tests.tickets.factories import AppealFactory
from tickets.models import AppealEvent, OutboundEmail
from tickets.outbox.services import appellant_email_enqueue
from tickets.services.appellant import appeal_provide_info, appeal_reopen, appeal_withdraw
from tickets.services.errors import WorkflowError
from tickets.tracking import tracking_token_make, tracking_token_read

pytestmark = pytest.mark.django_db

NOT_WAITING = "This appeal is no longer waiting for your answer: nothing was sent."


def status_url(appeal) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference)])


def nothing_stored(appeal, evidence_root) -> bool:
    return (
        not AppealEvent.objects.filter(appeal=appeal).exists()
        and not Evidence.objects.filter(appeal=appeal).exists()
        and not OutboundEmail.objects.filter(appeal=appeal).exists()
        and not [p for p in evidence_root.rglob("*") if p.is_file()]
    )


def answer(appeal, **extra) -> dict:
    return {"action": "provide_info", "message": "Here it is.", "kind": "id_back", "files": files.jpeg("back.jpg"), **extra}


def test_an_answer_to_an_appeal_no_longer_waiting_is_refused_clearly_and_stores_nothing(client, appeal_types, evidence_root):
    appeal = AppealFactory(state="in_review")
    response = client.post(status_url(appeal), answer(appeal), HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert NOT_WAITING in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "in_review" and appeal.answered_at is None
    assert nothing_stored(appeal, evidence_root)


def test_the_refusal_reaches_the_upload_script_too_and_in_chinese(client, appeal_types, evidence_root):
    appeal = AppealFactory(state="approved", closed_at=timezone.now(), language="zh-hans")
    with time_machine.travel(timezone.now(), tick=False):  # a link carries its second: both made in the same one
        response = client.post(status_url(appeal), answer(appeal), HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.json() == {"redirect": status_url(appeal)}
    page = client.get(status_url(appeal), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert zh(f"{NOT_WAITING} Here is where it stands now.") in page
    assert nothing_stored(appeal, evidence_root)


@translation.override("en")
def test_the_appellant_services_raise_workflow_errors_with_the_appellants_message(appeal_types, evidence_root):
    appeal = AppealFactory(state="in_review")
    with pytest.raises(WorkflowError, match=NOT_WAITING):
        appeal_provide_info(appeal=appeal, message="Late", files=[])
    with pytest.raises(WorkflowError, match="nothing was sent"):
        appeal_reopen(appeal=appeal, message="Again", files=[])
    closed = AppealFactory(state="closed", closed_at=timezone.now())
    with pytest.raises(WorkflowError, match="can no longer be withdrawn"):
        appeal_withdraw(appeal=closed)
    assert nothing_stored(appeal, evidence_root) and nothing_stored(closed, evidence_root)


def test_a_refused_answer_deletes_the_files_it_wrote(appeal_types, evidence_root):
    from evidence.validation import evidence_sniff

    appeal = AppealFactory(state="in_review")
    upload = files.jpeg("back.jpg")
    with pytest.raises(WorkflowError):
        appeal_provide_info(appeal=appeal, message="Here.", files=[("id_back", upload, evidence_sniff(upload))])
    assert nothing_stored(appeal, evidence_root)


def test_an_appellant_email_goes_to_the_contact_in_the_appeals_language_with_its_tracking_link(appeal_types):
    appeal = AppealFactory(contact_email="li.lei@example.com", language="en")
    email = appellant_email_enqueue(appeal=appeal, template="reply", message="We need a sharper photo.")
    assert (email.to, email.appeal, email.template) == ("li.lei@example.com", appeal, "reply")
    assert "We need a sharper photo." in email.body_text and "Support wrote about your appeal" in email.body_text
    token = re.search(r"http://testserver/appeals/status/([^/\s]+)/", email.body_text).group(1)
    assert tracking_token_read(token) == appeal.reference

"""The status page on a phone when we asked for more information: the question and the answer form
are in the first box, the kind of file most likely asked for is already chosen, and the answer goes
up with the page's upload script (progress, then back to the status page). Any console error, failed
request or CSP violation fails the test."""

import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence, EvidenceAccess
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealEvent, AppealReason
from tickets.services.agent import appeal_request_info
from tickets.services.fulfilment import appeal_fulfilment_report, appeal_release
from tickets.tracking import tracking_token_make, tracking_token_open

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PROCESS = "evidence.tasks.evidence_process"
QUESTION = "您上传的身份证反面照片无法读取。请重新拍摄身份证反面，四个角都要拍到，然后在这里上传。"


def test_information_requested_is_answered_from_the_top_of_the_status_page_on_a_phone(
    live_server, watched, appeal_types, celery_worker, tmp_path, screenshot
):
    agent = AgentFactory()
    appeal = AppealFactory(language="zh-hans", state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    EvidenceFactory(appeal=appeal, kind="id_front")
    EvidenceFactory(appeal=appeal, kind="id_handheld")
    Evidence.objects.create(
        appeal=appeal,
        kind="id_back",
        status="rejected",
        original_name="back.png",
        content_type="image/png",
        size=2048,
        sha256="0" * 64,
        status_reason="此图片已损坏或不完整，无法读取。",
    )
    AppealEvent.objects.create(appeal=appeal, kind="request_info", actor=agent, comment=QUESTION, public=True)
    page = watched.page
    page.goto(live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))

    question = page.locator("[data-info-request]")
    assert QUESTION in question.inner_text()
    form = page.locator("form[data-answer-form]")
    message = form.locator("textarea[name=message]")
    assert question.bounding_box()["y"] < 844  # on the first screen
    assert message.bounding_box()["y"] < 2 * 844  # the answer right under it, not three screens down
    assert form.locator("select[name=kind]").input_value() == "id_back"
    assert "需重新上传" in page.locator("[data-evidence-status=rejected]").inner_text()
    assert "10.0 MB" in form.inner_text() or "10.0\xa0MB" in form.inner_text()
    screenshot(page, "status-01-information-requested")

    scan = tmp_path / "身份证反面.pdf"
    scan.write_bytes(files.pdf_bytes())
    message.fill("已重新拍摄身份证反面。")
    form.locator("input[type=file]").set_input_files(str(scan))
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.get_by_role("button", name=zh("Send my answer")).click()
    assert answer.value.status == 200 and answer.value.headers["content-type"] == "application/json"
    page.wait_for_selector("[data-state=in_review]")
    celery_worker.finished.wait_for(PROCESS)

    sent = Evidence.objects.get(appeal=appeal, original_name="身份证反面.pdf")
    assert sent.kind == "id_back"
    assert page.locator("form[data-answer-form]").count() == 0
    assert zh("Thank you: we have your answer and your files. The appeal is back with our agents.") in page.content()
    screenshot(page, "status-02-answered")
    watched.check()


def test_a_carried_out_unbind_reads_done_on_a_phone_in_chinese(live_server, watched, appeal_types, screenshot):
    """After the platform reported the unbind done: the status page says so, in the type's words."""
    appeal = AppealFactory(
        language="zh-hans", appeal_type=appeal_types["realname_unbind"], state="approved", closed_at=timezone.now()
    )
    appeal_release(appeal=appeal)
    appeal_fulfilment_report(appeal=appeal, outcome="done", detail="Unbound on the platform.")
    page = watched.page
    page.goto(live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    done = page.locator('[data-fulfilment="done"]')
    assert zh("Your real-name verification has been unbound: the unbind has been carried out.") in done.inner_text()
    assert "Unbound on the platform." not in page.content()  # the platform's detail is for the agents
    screenshot(page, "status-03-fulfilment-done")
    watched.check()


def test_the_appellants_rights_on_a_phone(live_server, watched, appeal_types, tmp_path, screenshot):
    """A decided appeal: who viewed each file (by role), the data download, deleting the ID images and
    signing out other devices, all from the bottom of the status page, in Chinese, with no sideways scroll."""
    agent = AgentFactory(username="agent_zhang")
    appeal = AppealFactory(language="zh-hans", state="approved", closed_at=timezone.now(), assignee=agent)
    front = EvidenceFactory(appeal=appeal, kind="id_front")
    EvidenceAccess.objects.create(evidence=front, user=agent)
    page = watched.page
    page.goto(live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390

    views = page.locator(f"#evidence-{front.pk} details[data-file-views]")
    views.locator("summary").click()
    assert zh("An agent") in views.inner_text() and "agent_zhang" not in page.content()
    screenshot(page, "status-04-who-viewed")

    with page.expect_download() as download:
        page.get_by_role("button", name=zh("Download my data")).click()
    saved = tmp_path / "data.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert "files/01-id_front.jpg" in archive.namelist()

    form = page.locator("form[data-id-images-form]")
    form.locator("input[name=confirm]").check()
    form.get_by_role("button", name=zh("Delete my images")).click()
    page.wait_for_selector("[data-id-images-none]")
    assert zh("Your identity-document images have been deleted. We have sent you a confirmation e-mail.") in page.content()
    screenshot(page, "status-05-id-images-deleted")

    page.get_by_role("button", name=zh("Sign out other devices")).click()
    page.wait_for_load_state()
    appeal.refresh_from_db()
    assert appeal.tracking_generation == 1
    # A new link of generation 1 (compared by what it carries: made in another second, its text differs).
    new_link = tracking_token_open(page.url.rstrip("/").rsplit("/", 1)[1])
    assert (new_link.reference, new_link.generation) == (appeal.reference, 1)
    assert (
        zh("Other devices are signed out: older links to this page no longer work. Bookmark this page to come back to it.")
        in page.content()
    )
    watched.check()


def test_a_requested_slot_is_shown_with_its_reason_and_answered_on_a_phone(
    live_server, watched, appeal_types, reason_codes, celery_worker, tmp_path, screenshot
):
    """A structured request (issue 18): the slot asked for, with its reason in Chinese, and its own
    file input; a missing file is refused next to that input before anything is stored; the file sent
    in it answers the slot."""
    agent = AgentFactory()
    appeal = AppealFactory(language="zh-hans", state="in_review", assignee=agent)
    appeal_request_info(appeal=appeal, actor=agent, message=QUESTION, requested=[("", "id_back_blurred")])
    page = watched.page
    path = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    page.goto(live_server.url + path)

    slot = page.locator("[data-requested-slot=id_back]")
    assert slot.inner_text() == "身份证反面：身份证反面照片模糊"
    assert slot.bounding_box()["y"] < 844  # on the first screen
    form = page.locator("form[data-answer-form]")
    slot_input = form.locator("[data-upload-slot=id_back] input[type=file][name=evidence_id_back]")
    assert "为什么需要：身份证反面照片模糊" in form.locator("[data-upload-slot=id_back]").inner_text()
    screenshot(page, "status-06-requested-slot")

    # Sent without the file: refused beside the slot, nothing stored.
    form.get_by_role("button", name=zh("Send my answer")).click()
    page.wait_for_function("() => document.querySelector('[data-errors-for=evidence_id_back]').textContent.length > 0")
    assert "请上传：身份证反面。" in form.locator("[data-errors-for=evidence_id_back]").inner_text()
    assert not Evidence.objects.filter(appeal=appeal).exists()

    scan = tmp_path / "back.pdf"
    scan.write_bytes(files.pdf_bytes())
    slot_input.set_input_files(str(scan))
    form.get_by_role("button", name=zh("Send my answer")).click()
    page.wait_for_selector("[data-state=in_review]")
    celery_worker.finished.wait_for(PROCESS)
    sent = Evidence.objects.get(appeal=appeal)
    assert sent.kind == "id_back"
    assert AppealReason.objects.get(appeal=appeal).answered_by == sent
    assert page.locator("[data-requested-slot]").count() == 0
    watched.check(expected=((400, path),))  # the answer sent without its file

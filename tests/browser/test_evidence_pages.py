"""The evidence pages as people see them: the appellant on a phone replaces a file that processing
refused, from the status page; an agent reads a PDF as the page images the server rendered. A real
Celery worker processes the files. Any console error, failed request or CSP violation fails the test,
and every image on the page must have rendered."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.browser.conftest import staff_signed_in
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.tracking import tracking_token_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PROCESS = "evidence.tasks.evidence_process"

EVERY_IMAGE_RENDERED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def test_a_refused_file_is_replaced_from_the_status_page_on_a_phone(
    live_server, watched, appeal_types, celery_worker, tmp_path, screenshot
):
    appeal = AppealFactory(language="zh-hans", state="in_review", assignee=AgentFactory())
    refused = Evidence.objects.create(
        appeal=appeal,
        kind="id_back",
        status="rejected",
        original_name="back.png",
        content_type="image/png",
        size=2048,
        sha256="0" * 64,
        status_reason="此图片已损坏或不完整，无法读取。",
    )
    page = watched.page
    page.goto(live_server.url + reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    notice = page.locator("[data-refused-notice]")
    assert notice.is_visible()
    form = page.locator(f"form[data-replace-form='{refused.pk}']")
    assert form.is_visible()
    screenshot(page, "evidence-01-status-refused-file")

    photo = tmp_path / "back-again.jpg"
    photo.write_bytes(files.photo_bytes(1600, 1000, seed=4))
    form.locator("input[type=file]").set_input_files(str(photo))
    form.get_by_role("button", name=zh("Replace this file")).click()
    page.wait_for_load_state()
    celery_worker.finished.wait_for(PROCESS)
    replacement = Evidence.objects.get(replaces=refused)
    assert replacement.status == "ready"

    page.reload()
    assert page.locator("[data-replaced]").is_visible()
    assert page.locator(f"form[data-replace-form='{refused.pk}']").count() == 0
    assert page.locator(f"#evidence-{replacement.pk} a", has_text="back-again.jpg").is_visible()
    screenshot(page, "evidence-02-status-replaced")
    watched.check()


def test_an_agent_reads_a_pdf_as_the_pages_the_server_rendered(live_server, browser, appeal_types, screenshot):
    agent = AgentFactory(username="agent_pdf")
    appeal = AppealFactory(state="in_review", assignee=agent)
    pdf = Evidence.objects.create(
        appeal=appeal,
        kind="carrier_certificate",
        status="pending",
        original_name="certificate.pdf",
        content_type="application/pdf",
        size=1,
        sha256="1" * 64,
        file=ContentFile(files.pdf_with_pages_bytes(2), name="certificate.pdf"),
    )
    evidence_process(evidence_id=pdf.pk)
    pdf.refresh_from_db()
    assert pdf.status == "ready" and len(pdf.pages) == 2

    watched = staff_signed_in(browser, live_server, agent)
    page = watched.page
    page.goto(live_server.url + reverse("desk:appeal", args=[appeal.reference]) + "#evidence")
    viewer = page.locator("[data-pdf-viewer]")
    viewer.locator("summary").click()
    pages = viewer.locator("img")
    assert pages.count() == 2
    for index in range(2):
        pages.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(EVERY_IMAGE_RENDERED)
    assert page.locator("a", has_text="Download the PDF").get_attribute("href").endswith(f"/evidence/{pdf.pk}/")
    screenshot(page, "evidence-03-console-pdf-pages")
    watched.check()
    watched.page.context.close()

"""PDFs are disarmed by reconstruction: PDFium renders every page to an image and only those images,
and a PDF rebuilt from them, are served. A PDF that cannot be read is refused in the request."""

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.tickets.factories import SupervisorFactory, submission
from tickets.models import Appeal, AppealEvent, OutboundEmail, RechargeRecord
from tickets.tracking import tracking_token_make

HOSTILE_PDFS = {
    "hex-escaped-open-action": lambda: files.pdf_with_javascript_bytes(obfuscated=True),
    "outline-action": files.pdf_with_outline_javascript_bytes,
    "annotation-additional-actions": files.pdf_with_annotation_actions_bytes,
    "open-action-next-chain": files.pdf_with_open_action_chain_bytes,
}
# Keys through which a PDF runs or carries code, or reaches outside its pages.
ACTIVE_KEYS = (
    "/JS",
    "/JavaScript",
    "/AA",
    "/OpenAction",
    "/Names",
    "/Outlines",
    "/AcroForm",
    "/Annots",
    "/Launch",
    "/EmbeddedFiles",
    "/URI",
    "/Next",
)


def files_on_disk(root) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def post_certificate(client, appeal_types, pdf: bytes, name="certificate.pdf"):
    appeal_type = appeal_types["phone_rebind"]
    return client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, evidence_carrier_certificate=files.upload(name, pdf, "application/pdf")),
        HTTP_ACCEPT_LANGUAGE="en",
    )


def served(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def without_streams(pdf: bytes) -> bytes:
    """The PDF's object syntax, with the (binary image) stream contents cut out."""
    return re.sub(rb"stream\r?\n.*?endstream", b"stream endstream", pdf, flags=re.S)


def assert_a_pdf_of_images_only(pdf: bytes, pages: int) -> None:
    lowered = pdf.lower()
    assert b"app.alert" not in lowered and b"javascript" not in lowered and b"j#61va" not in lowered
    syntax = without_streams(pdf).decode("latin-1")
    for key in ACTIVE_KEYS:
        assert not re.search(re.escape(key) + r"(?![A-Za-z0-9])", syntax), key
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages
    root = reader.trailer["/Root"]
    assert set(root.keys()) <= {"/Type", "/Pages"}
    for page in reader.pages:
        assert "/Annots" not in page and "/AA" not in page
        resources = page["/Resources"]
        assert set(resources.keys()) <= {"/XObject", "/ProcSet"}
        xobjects = resources["/XObject"]
        assert xobjects and all(x.get_object()["/Subtype"] == "/Image" for x in xobjects.values())


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("builder", HOSTILE_PDFS.values(), ids=HOSTILE_PDFS.keys())
def test_a_pdf_with_hidden_scripts_is_served_only_as_images_of_its_pages(
    client,
    appeal_types,
    evidence_root,
    celery_worker,
    builder,
):
    original = builder()
    assert b"app.alert" in original  # the upload does carry a script
    assert post_certificate(client, appeal_types, original).status_code == 302
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=3)
    evidence = Evidence.objects.get(kind="carrier_certificate")
    assert evidence.status == "ready" and len(evidence.pages) == 1

    client.force_login(SupervisorFactory())
    download = client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    rebuilt = served(download)
    assert rebuilt != original
    assert_a_pdf_of_images_only(rebuilt, pages=1)

    page = served(client.get(reverse("evidence:serve", args=[evidence.pk]), {"page": 1}))
    image = Image.open(io.BytesIO(page))
    assert image.format == "JPEG" and max(image.size) == 2000
    if b" Tj" in original:
        assert image.convert("L").getextrema()[0] < 128  # the page's text was drawn
    thumbnail = Image.open(io.BytesIO(served(client.get(reverse("evidence:thumbnail", args=[evidence.pk])))))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) <= 480
    assert client.get(reverse("evidence:serve", args=[evidence.pk]), {"page": 2}).status_code == 404

    # The uploaded PDF is gone; its SHA-256 is the record that stays.
    assert all(p.read_bytes() != original for p in files_on_disk(evidence_root))
    assert evidence.sha256 == hashlib.sha256(original).hexdigest()


def test_every_page_is_rendered_and_the_appellant_gets_the_rebuilt_pdf(client, appeal_types):
    assert post_certificate(client, appeal_types, files.pdf_with_pages_bytes(3)).status_code == 302
    evidence = Evidence.objects.get(kind="carrier_certificate")
    evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert len(evidence.pages) == 3

    client.get(reverse("tickets:status", args=[tracking_token_make(evidence.appeal.reference)]))
    assert_a_pdf_of_images_only(served(client.get(reverse("evidence:serve", args=[evidence.pk]))), pages=3)
    for number in (1, 2, 3):
        assert (
            Image.open(io.BytesIO(served(client.get(reverse("evidence:serve", args=[evidence.pk]), {"page": number})))).format
            == "JPEG"
        )
    assert client.get(reverse("evidence:serve", args=[evidence.pk]), {"page": "x"}).status_code == 404


def test_the_console_shows_a_pdf_as_page_images_with_the_rebuilt_download(en_client, appeal_types):
    post_certificate(en_client, appeal_types, files.pdf_with_pages_bytes(2))
    evidence = Evidence.objects.get(kind="carrier_certificate")
    evidence_process(evidence_id=evidence.pk)
    en_client.force_login(SupervisorFactory())
    page = en_client.get(reverse("desk:appeal", args=[evidence.appeal.reference])).content.decode()
    serve = reverse("evidence:serve", args=[evidence.pk])
    assert f'src="{reverse("evidence:thumbnail", args=[evidence.pk])}"' in page
    assert f'src="{serve}?page=1"' in page and f'src="{serve}?page=2"' in page
    assert f'href="{serve}"' in page and "2 pages" in page


@pytest.mark.parametrize(
    ("pdf", "message"),
    [
        (files.unreadable_pdf_bytes(), "This PDF is damaged and cannot be read."),
        (files.pdf_with_pages_bytes(21), "This PDF has 21 pages: the limit is 20."),
    ],
    ids=["unreadable", "too-many-pages"],
)
def test_a_pdf_that_cannot_be_read_is_refused_at_upload_next_to_its_field(client, appeal_types, evidence_root, pdf, message):
    response = post_certificate(client, appeal_types, pdf)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].uploads.errors["evidence_carrier_certificate"])
    assert Appeal.objects.count() == Evidence.objects.count() == RechargeRecord.objects.count() == 0
    assert OutboundEmail.objects.count() == 0
    assert files_on_disk(evidence_root) == []


def test_the_page_limit_is_a_setting(client, appeal_types, evidence_root, settings):
    settings.EVIDENCE_MAX_PDF_PAGES = 2
    response = post_certificate(client, appeal_types, files.pdf_with_pages_bytes(3))
    assert "This PDF has 3 pages: the limit is 2." in response.content.decode()
    assert files_on_disk(evidence_root) == []


def test_a_stored_pdf_that_cannot_be_rendered_is_refused_with_a_clear_message(
    en_client,
    appeal_types,
    evidence_root,
    django_capture_on_commit_callbacks,
):
    """A file that reached storage before the upload check existed: processing refuses it, leaves no
    file behind, and the appellant and the console are told."""
    post_certificate(en_client, appeal_types, files.pdf_bytes())
    evidence = Evidence.objects.get(kind="carrier_certificate")
    Path(evidence.file.path).write_bytes(files.unreadable_pdf_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "rejected" and not evidence.file and evidence.pages == []
    assert "This PDF is damaged and cannot be read." in evidence.status_reason
    assert len(files_on_disk(evidence_root)) == 2  # the two ID photos, still waiting for processing
    assert AppealEvent.objects.filter(kind="evidence_rejected", public=True).count() == 1

    status = en_client.get(reverse("tickets:status", args=[tracking_token_make(evidence.appeal.reference)])).content.decode()
    assert "This PDF is damaged and cannot be read." in status and "Please send a new file." in status
    en_client.force_login(SupervisorFactory())
    console = en_client.get(reverse("desk:appeal", args=[evidence.appeal.reference])).content.decode()
    assert 'data-evidence-status="rejected"' in console


def test_a_pdf_kept_as_uploaded_by_an_earlier_version_is_not_served(client, appeal_types):
    """A ready PDF without rendered pages (processed before reconstruction existed) is never sent."""
    post_certificate(client, appeal_types, files.pdf_bytes())
    Evidence.objects.filter(kind="carrier_certificate").update(status="ready")
    evidence = Evidence.objects.get(kind="carrier_certificate")
    client.force_login(SupervisorFactory())
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404


@pytest.mark.django_db(transaction=True)  # file deletion happens on commit
def test_retention_deletes_the_rendered_pages_with_the_rebuilt_pdf(appeal_types, evidence_root, settings):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from evidence.retention import evidence_purge_expired
    from tests.evidence.factories import EvidenceFactory
    from tests.tickets.factories import AppealFactory

    decided_at = timezone.now()
    pdf = EvidenceFactory(
        appeal=AppealFactory(state="approved", closed_at=decided_at),
        kind="carrier_certificate",
        content_type="application/pdf",
        original_name="c.pdf",
        content=files.pdf_with_pages_bytes(2),
        status="pending",
    )
    evidence_process(evidence_id=pdf.pk)
    assert len(files_on_disk(evidence_root)) == 4  # two pages, the thumbnail, the rebuilt PDF
    with time_machine.travel(decided_at + timedelta(days=settings.EVIDENCE_RETENTION_DAYS, minutes=1)):
        assert evidence_purge_expired() == 1
    pdf.refresh_from_db()
    assert pdf.pages == [] and not pdf.file and pdf.sha256
    assert files_on_disk(evidence_root) == []

"""Evidence processing after upload: re-encoded without EXIF/GPS, upright, thumbnailed, fingerprinted;
PDFs rebuilt from their rendered pages; safe to run twice."""

import io
from pathlib import Path

import imagehash
import pytest
from django.urls import reverse
from PIL import Image

from evidence.models import Evidence
from evidence.processing import evidence_process, evidence_process_pending
from tests import files
from tests.tickets.factories import SupervisorFactory, submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db


def files_on_disk(root) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if p.is_file())


def file_appeal(client, appeal_types, **overrides) -> Appeal:
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, **overrides))
    assert response.status_code == 302, response.content.decode()[:500]
    return Appeal.objects.get()


def test_photo_with_gps_is_served_without_exif_and_upright(client, appeal_types, evidence_root):
    photo = files.upload("front.jpg", files.photo_bytes(1200, 800, exif_gps=True, orientation=6), "image/jpeg")
    original = Image.open(io.BytesIO(photo.read()))
    photo.seek(0)
    assert original.getexif().get(0x8825)  # the upload carries GPS
    appeal = file_appeal(client, appeal_types, evidence_id_front=photo)
    evidence = Evidence.objects.get(appeal=appeal, kind="id_front")
    assert evidence.status == "pending"

    evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "ready" and evidence.processed_at is not None
    assert (evidence.width, evidence.height) == (800, 1200)  # orientation 6: rotated upright
    assert len(evidence.perceptual_hash) == 16 and evidence.perceptual_hash_bits is not None

    client.force_login(SupervisorFactory())  # a supervisor sees an open appeal's files without stating a reason
    served = b"".join(client.get(reverse("evidence:serve", args=[evidence.pk])).streaming_content)
    image = Image.open(io.BytesIO(served))
    assert image.size == (800, 1200)
    assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in served
    thumbnail = Image.open(io.BytesIO(b"".join(client.get(reverse("evidence:thumbnail", args=[evidence.pk])).streaming_content)))
    assert max(thumbnail.size) <= 480


@pytest.mark.parametrize(("width", "height", "seed"), [(3000, 2000, 1), (1600, 1200, 7), (1200, 1600, 3), (640, 480, 5)])
def test_the_perceptual_hash_is_the_full_size_photos(client, appeal_types, evidence_root, width, height, seed):
    """The hash is taken from the thumbnail, not the full-size pixels: it must still be the photo's own,
    so hashes recorded before and after agree and the same-photo signal keeps matching across them."""
    photo = files.photo_bytes(width, height, seed=seed)
    appeal = file_appeal(client, appeal_types, evidence_id_front=files.upload("front.jpg", photo, "image/jpeg"))
    evidence = Evidence.objects.get(appeal=appeal, kind="id_front")
    evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    full_size = imagehash.phash(Image.open(io.BytesIO(photo)))
    assert full_size - imagehash.hex_to_hash(evidence.perceptual_hash) <= 2
    thumbnail = Image.open(evidence.thumbnail.path)
    assert max(thumbnail.size) == 480 and abs(thumbnail.width / thumbnail.height - width / height) < 0.01


def test_the_original_with_metadata_is_deleted_after_processing(
    client, appeal_types, evidence_root, django_capture_on_commit_callbacks
):
    appeal = file_appeal(client, appeal_types, evidence_id_front=files.jpeg("front.jpg", exif_gps=True))
    evidence = Evidence.objects.get(appeal=appeal, kind="id_front")
    original = Path(evidence.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert not original.exists()
    assert Path(evidence.file.path).exists() and Path(evidence.thumbnail.path).exists()


def test_processing_twice_leaves_no_duplicate_files(client, appeal_types, evidence_root):
    appeal = file_appeal(client, appeal_types)
    for evidence in appeal.evidence.all():
        evidence_process(evidence_id=evidence.pk)
    after_first = files_on_disk(evidence_root)
    Evidence.objects.filter(appeal=appeal).update(status="pending")  # as if the worker died before commit
    for evidence in Evidence.objects.filter(appeal=appeal):
        evidence.file.name = evidence.file.name.split(".clean.")[0]  # the original name it started from
        evidence.save()
        evidence_process(evidence_id=evidence.pk)
    assert files_on_disk(evidence_root) == after_first
    assert all(e.status == "ready" for e in Evidence.objects.all())
    assert evidence_process(evidence_id=Evidence.objects.first().pk) is None  # not pending: nothing to do


def test_pdf_with_hidden_javascript_is_rebuilt_from_its_pages_not_refused(
    client, appeal_types, evidence_root, django_capture_on_commit_callbacks
):
    pdf = files.upload("certificate.pdf", files.pdf_with_javascript_bytes(obfuscated=True), "application/pdf")
    appeal_type = appeal_types["phone_rebind"]
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, evidence_carrier_certificate=pdf)
    )
    assert response.status_code == 302  # the byte check cannot see an escaped name; reconstruction disarms it
    evidence = Evidence.objects.get(kind="carrier_certificate")
    with django_capture_on_commit_callbacks(execute=True):
        evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "ready" and evidence.file.name.endswith(".clean.pdf") and len(evidence.pages) == 1
    client.force_login(SupervisorFactory())
    served = b"".join(client.get(reverse("evidence:serve", args=[evidence.pk])).streaming_content)
    assert served.startswith(b"%PDF-") and b"app.alert" not in served and b"J#61va" not in served


def test_a_clean_pdf_becomes_ready(client, appeal_types):
    appeal_type = appeal_types["phone_rebind"]
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    evidence = Evidence.objects.get(kind="carrier_certificate")
    evidence_process(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "ready" and evidence.file


def test_the_sweep_processes_what_the_broker_never_delivered(client, appeal_types):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    file_appeal(client, appeal_types)
    assert evidence_process_pending() == 0  # just uploaded: the task should still be on its way
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert evidence_process_pending() == 3
    assert set(Evidence.objects.values_list("status", flat=True)) == {"ready"}


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_processes_uploads_after_commit(client, appeal_types, celery_worker):
    file_appeal(client, appeal_types)
    celery_worker.finished.wait_for("evidence.tasks.evidence_process", count=3)
    assert set(Evidence.objects.values_list("status", flat=True)) == {"ready"}
    assert all(e.thumbnail for e in Evidence.objects.all())

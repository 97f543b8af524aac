"""Evidence processing after upload (SPEC §6), run by a Celery task after the upload commits.

Only files we made ourselves are ever served, never the uploaded bytes:
- images are decoded once, with the decompression-bomb guard, turned upright (EXIF orientation), and
  their pixels alone copied into a fresh image that is re-encoded, so no metadata block (EXIF, XMP,
  IPTC, comments, ICC profiles, PNG text chunks) survives. The thumbnail is reduced from those decoded
  pixels, and the perceptual hash taken from the thumbnail (it looks at 32×32 pixels anyway): no second
  decode, and the full-size pixels are only copied, encoded and reduced once each;
- PDFs are disarmed by reconstruction: every page is rendered to an image by PDFium, and a new PDF is
  built from those images alone; scripts, actions, forms and attachments have nothing to live in. The
  uploaded PDF is then deleted: its SHA-256 is the record that stays;
- CSV records are rewritten with every cell a spreadsheet would run as a formula made inert.
The derived files have names fixed by the original's, written atomically, so a task that dies half-way
and runs again overwrites rather than duplicates them.
"""

import contextlib
import csv
import ctypes
import functools
import io
import logging
import os
import warnings
from datetime import timedelta

import imagehash
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from tickets.reports.exports import csv_safe
from tickets.risk.services import appeal_risk_score

from .models import Evidence
from .pdf import PdfUnreadable, pdf_from_images, pdf_render_pages
from .services import evidence_refused_record
from .storage import evidence_storage
from .validation import CSV_TYPE, IMAGE_TYPES, PDF_TYPE, csv_decode

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (480, 480)
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
PAGE_QUALITY = 85
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


class EvidenceRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _write(name: str, save) -> None:
    """Write a derived file under a fixed name, atomically (a fixed temp name, then rename): a run
    that dies half-way leaves at most that temp file, which the next run overwrites. A write that
    fails (a full disk) removes its temp file. Created 0600, like every evidence file."""
    path = evidence_storage.path(name)
    evidence_storage.directory_create(os.path.dirname(path))
    temporary = f"{path}.partial"
    mode = evidence_storage.file_permissions_mode
    out = os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb")
    try:
        with out:
            os.fchmod(out.fileno(), mode)  # a temp file a dead run left behind keeps its old mode otherwise
            save(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def _signed64(hex_hash: str) -> int:
    bits = int(hex_hash, 16)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def _pixels_only(image: Image.Image, fmt: str) -> Image.Image:
    """A new image holding only the pixels: nothing of the source's `info` (comment, ICC profile,
    EXIF, XMP, text chunks) can be carried into what we save."""
    keep_alpha = fmt != "JPEG" and (image.mode in ("RGBA", "LA") or image.has_transparency_data)
    allowed = ("RGB", "L", "RGBA", "LA") if fmt != "JPEG" else ("RGB", "L")
    if image.mode not in allowed:
        image = image.convert("RGBA" if keep_alpha else "RGB")
    fresh = Image.new(image.mode, image.size, None)  # not filled first: the paste covers every pixel
    fresh.paste(image)
    return fresh


def _thumbnail(image: Image.Image) -> Image.Image:
    """At most THUMBNAIL_SIZE, never enlarged. `reducing_gap` first averages blocks of pixels by an
    integer factor (cheap), then resamples what is left, which is what `Image.thumbnail` does, without
    first copying the full-size image."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    scale = min(1.0, THUMBNAIL_SIZE[0] / rgb.width, THUMBNAIL_SIZE[1] / rgb.height)
    if scale == 1.0:
        return rgb
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    return rgb.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _thumbnail_save(image: Image.Image, name: str) -> Image.Image:
    thumbnail = _thumbnail(image)
    _write(name, lambda out: thumbnail.save(out, "JPEG", quality=80))
    return thumbnail


@functools.cache
def _image_memory_kept() -> None:
    """A decoded 3000×2000 photo takes 24 MB, and its fresh copy as much again. glibc hands blocks that
    large back to the kernel when they are freed, so each photo paid again for new zeroed pages: a
    third of its CPU time went on page faults (bench/bench_processing.py: kernel 28 of 87 ms). Served
    from the heap, and up to 64 MB of free heap kept, the memory is reused photo after photo. Only
    processes that process images (the workers) ask for this."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return
    mallopt(M_MMAP_THRESHOLD, 32 << 20)
    mallopt(M_TRIM_THRESHOLD, 64 << 20)


EXIF_SOFTWARE, EXIF_DATETIME, EXIF_IFD, EXIF_DATETIME_ORIGINAL = 0x0131, 0x0132, 0x8769, 0x9003


def _exif_text(value, length: int) -> str:
    return str(value or "").replace("\x00", "").strip()[:length]


def _photo_metadata(image: Image.Image) -> dict:
    """What the risk score reads from a photo's EXIF before the metadata is stripped: the software that
    last wrote it, and when it was taken."""
    try:
        exif = image.getexif()
        taken = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
        metadata = {"software": _exif_text(exif.get(EXIF_SOFTWARE), 100), "taken_at": _exif_text(taken, 19)}
    except (OSError, SyntaxError, ValueError, TypeError):  # unreadable metadata is no signal
        return {}
    return {name: value for name, value in metadata.items() if value}


def _process_image(evidence: Evidence) -> list[str]:
    fmt = IMAGE_TYPES[evidence.content_type]
    _image_memory_kept()
    try:
        with evidence.file.open("rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceRefused(_("This image has too many pixels.")) from None
    except (OSError, SyntaxError, ValueError):
        raise EvidenceRefused(_("This image is damaged or incomplete and cannot be read.")) from None
    evidence.photo_metadata = _photo_metadata(image)  # read before the metadata goes
    ImageOps.exif_transpose(image, in_place=True)  # upright (a copy only when it has to turn)
    image = _pixels_only(image, fmt)  # then the pixels alone
    base = evidence.file.name
    clean_name, thumb_name = f"{base}.clean.{EXTENSIONS[fmt]}", f"{base}.thumb.jpg"
    options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    _write(clean_name, lambda out: image.save(out, fmt, **options))
    thumbnail = _thumbnail_save(image, thumb_name)
    # pHash shrinks to 32×32 before its DCT: from the thumbnail it finds the bits it finds in the full
    # image (tests/evidence/test_processing.py checks), for a small part of the cost.
    perceptual = str(imagehash.phash(thumbnail))
    evidence.perceptual_hash = perceptual
    evidence.perceptual_hash_bits = _signed64(perceptual)
    evidence.width, evidence.height = image.size
    evidence.file.name, evidence.thumbnail.name = clean_name, thumb_name
    return [base]


def _process_pdf(evidence: Evidence) -> list[str]:
    """Disarm by reconstruction: the pages as images, and a PDF made of those images only."""
    base = evidence.file.name
    thumb_name, clean_name = f"{base}.thumb.jpg", f"{base}.clean.pdf"
    pages: list[str] = []
    resolution = None
    try:
        for number, (image, dpi) in enumerate(pdf_render_pages(evidence.file.path), start=1):
            name = f"{base}.page-{number:03d}.jpg"
            pages.append(name)
            _write(name, lambda out, image=image: image.save(out, "JPEG", quality=PAGE_QUALITY))
            if number == 1:
                _thumbnail_save(image, thumb_name)
                evidence.width, evidence.height = image.size
                resolution = dpi
        _write(clean_name, lambda out: _pdf_from_images(out, pages, resolution))
    except PdfUnreadable as unreadable:
        for name in (*pages, thumb_name, clean_name):
            evidence_storage.delete(name)
        raise EvidenceRefused(unreadable.message) from None
    evidence.pages = pages
    evidence.file.name, evidence.thumbnail.name = clean_name, thumb_name
    return [base]


def _pdf_from_images(out, pages: list[str], resolution: float) -> None:
    """A PDF whose pages are the rendered images and nothing else. They are opened from storage
    lazily, so Pillow decodes them one at a time as it writes."""
    images = [Image.open(evidence_storage.path(name)) for name in pages]
    try:
        pdf_from_images(out, images, resolution)
    finally:
        for image in images:
            image.close()


def _process_csv(evidence: Evidence) -> list[str]:
    """Serve a neutralised copy: cells a spreadsheet would run as formulas are made inert."""
    with evidence.file.open("rb") as handle:
        raw = handle.read()
    text = csv_decode(raw)
    if text is None:
        raise EvidenceRefused(_("This file is not a CSV text file."))
    safe = io.StringIO()
    writer = csv.writer(safe)
    for row in csv.reader(io.StringIO(text, newline="")):
        writer.writerow([csv_safe(cell) for cell in row])
    base = evidence.file.name
    clean_name = f"{base}.clean.csv"
    _write(clean_name, lambda out: out.write(safe.getvalue().encode("utf-8-sig")))
    evidence.file.name = clean_name
    return [base]


def _process(evidence: Evidence) -> list[str]:
    if evidence.content_type in IMAGE_TYPES:
        return _process_image(evidence)
    if evidence.content_type == PDF_TYPE:
        return _process_pdf(evidence)
    if evidence.content_type == CSV_TYPE:
        return _process_csv(evidence)
    raise EvidenceRefused(_("This file type cannot be processed."))


def too_slow_message() -> str:
    return _(
        "We could not process this file in the time allowed. Please send an ordinary photo or screenshot of the document instead."
    )


def _leftovers(base: str) -> list[str]:
    """Files derived from `base` (pages, clean copy, thumbnail, half-written temporaries)."""
    directory, prefix = os.path.dirname(base), os.path.basename(base) + "."
    try:
        names = evidence_storage.listdir(directory)[1]
    except FileNotFoundError:
        return []
    return [os.path.join(directory, name) for name in names if name.startswith(prefix)]


def _refuse(evidence: Evidence, message: str) -> list[str]:
    """Nothing refused is ever served: the files go; the fingerprint and the reason stay. Returns the
    names to delete once the refusal is committed."""
    obsolete = [evidence.file.name, *_leftovers(evidence.file.name)] if evidence.file.name else []
    evidence.file.name, evidence.thumbnail.name, evidence.pages = "", "", []
    evidence.status, evidence.status_reason = Evidence.Status.REJECTED, message
    evidence_refused_record(evidence=evidence, message=message)
    return obsolete


def _pending_locked(evidence_id) -> Evidence | None:
    return (
        Evidence.objects.select_for_update(of=("self",))
        .select_related("appeal")
        .filter(pk=evidence_id, status=Evidence.Status.PENDING, purged_at__isnull=True)
        .first()
    )


def evidence_process(*, evidence_id) -> Evidence | None:
    """Process one evidence file if it is still pending (safe to run twice, or after a crash)."""
    # The attempt is committed before the work starts, so it counts even if the worker is killed.
    Evidence.objects.filter(pk=evidence_id, status=Evidence.Status.PENDING).update(
        processing_attempts=F("processing_attempts") + 1,
    )
    with transaction.atomic():
        evidence = _pending_locked(evidence_id)
        if evidence is None:
            return None
        obsolete: list[str] = []
        try:
            # A refusal reason is shown to the appellant: write it in their language.
            with translation.override(evidence.appeal.language):
                if evidence.processing_attempts > settings.EVIDENCE_MAX_PROCESSING_ATTEMPTS:
                    raise EvidenceRefused(too_slow_message())
                obsolete = _process(evidence)
            evidence.status = Evidence.Status.READY
        except EvidenceRefused as refused:
            obsolete = _refuse(evidence, refused.message)
        evidence.processed_at = timezone.now()
        evidence.save()
        transaction.on_commit(lambda: [evidence_storage.delete(name) for name in obsolete if name])
    appeal_risk_score(appeal_id=evidence.appeal_id)  # committed: its photos may change the score
    return evidence


def evidence_process_overran(*, evidence_id) -> Evidence | None:
    """Processing hit its soft time limit: refuse the file (it would only be cut short again)."""
    with transaction.atomic():
        evidence = _pending_locked(evidence_id)
        if evidence is None:
            return None
        with translation.override(evidence.appeal.language):
            obsolete = _refuse(evidence, too_slow_message())
        evidence.processed_at = timezone.now()
        evidence.save()
        transaction.on_commit(lambda: [evidence_storage.delete(name) for name in obsolete if name])
    logger.warning("evidence %s refused: processing exceeded its time limit", evidence_id)
    return evidence


def evidence_pending(*, older_than_seconds: int = 120, limit: int = 200) -> list:
    """Files still pending well after upload: the broker never delivered their task (e.g. Redis was
    down at upload), or the worker running it was killed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Evidence.objects.filter(status=Evidence.Status.PENDING, created_at__lte=cutoff).values_list("pk", flat=True)
    return list(pending[:limit])


def evidence_process_pending(*, older_than_seconds: int = 120, limit: int = 200) -> int:
    """Process the pending files here and now, one after the other."""
    pending = evidence_pending(older_than_seconds=older_than_seconds, limit=limit)
    return sum(evidence_process(evidence_id=pk) is not None for pk in pending)

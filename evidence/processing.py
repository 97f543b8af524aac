"""Evidence processing after upload (SPEC §6), run by a Celery task after the upload commits.

Images are decoded with the decompression-bomb guard, turned upright (EXIF orientation), re-encoded
without EXIF/GPS and thumbnailed; a perceptual hash is recorded. PDFs are parsed and refused if they
carry scripts, actions or attachments. The derived files have names fixed by the original's, written
atomically, so a task that dies half-way and runs again overwrites rather than duplicates them.
"""

import logging
import os
from datetime import timedelta
import warnings

import imagehash
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from PIL import Image, ImageOps
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from .models import Evidence
from .notices import evidence_refused_record
from .storage import evidence_storage
from .validation import IMAGE_TYPES, PDF_TYPE, pdf_active_message

logger = logging.getLogger(__name__)

THUMBNAIL_SIZE = (480, 480)
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ACTIVE_KEYS = {"/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EmbeddedFile", "/RichMedia", "/XFA", "/AA"}


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
        try:
            os.remove(temporary)
        except FileNotFoundError:
            pass
        raise


def _signed64(hex_hash: str) -> int:
    bits = int(hex_hash, 16)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def _process_image(evidence: Evidence) -> list[str]:
    fmt = IMAGE_TYPES[evidence.content_type]
    try:
        with evidence.file.open("rb") as handle, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(handle)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise EvidenceRefused(_("This image has too many pixels.")) from None
    except (OSError, SyntaxError, ValueError):
        raise EvidenceRefused(_("This image is damaged or incomplete and cannot be read.")) from None
    image = ImageOps.exif_transpose(image)  # upright, and the orientation tag is gone
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    base = evidence.file.name
    clean_name, thumb_name = f"{base}.clean.{EXTENSIONS[fmt]}", f"{base}.thumb.jpg"
    # No `exif=`, `icc_profile` or text chunks are passed on: the saved copy carries no metadata.
    options = {"quality": 90} if fmt in ("JPEG", "WEBP") else {"optimize": True}
    _write(clean_name, lambda out: image.save(out, fmt, **options))
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    _write(thumb_name, lambda out: thumbnail.save(out, "JPEG", quality=80))
    perceptual = str(imagehash.phash(image))
    evidence.perceptual_hash = perceptual
    evidence.perceptual_hash_bits = _signed64(perceptual)
    evidence.width, evidence.height = image.size
    evidence.file.name, evidence.thumbnail.name = clean_name, thumb_name
    return [base]


def _active_pdf(reader: PdfReader) -> bool:
    root = reader.trailer["/Root"]
    if "/OpenAction" in root:
        action = root["/OpenAction"]
        action = action.get_object() if hasattr(action, "get_object") else action
        if isinstance(action, dict) and action.get("/S") in ("/JavaScript", "/Launch"):
            return True
    if ACTIVE_KEYS & set(root.keys()):
        return True
    names = root.get("/Names")
    if names is not None and {"/JavaScript", "/EmbeddedFiles"} & set(names.get_object().keys()):
        return True
    acroform = root.get("/AcroForm")
    if acroform is not None and "/XFA" in acroform.get_object():
        return True
    for page in reader.pages:
        if "/AA" in page:
            return True
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            action = annotation.get("/A")
            action = action.get_object() if action is not None else {}
            if annotation.get("/Subtype") == "/FileAttachment" or action.get("/S") in ("/JavaScript", "/Launch"):
                return True
    return False


def _process_pdf(evidence: Evidence) -> list[str]:
    try:
        with evidence.file.open("rb") as handle:
            reader = PdfReader(handle, strict=False)
            if reader.is_encrypted:
                raise EvidenceRefused(_("This PDF is password-protected. Please upload it without a password."))
            if not len(reader.pages):
                raise EvidenceRefused(_("This PDF has no pages."))
            active = _active_pdf(reader)
    except EvidenceRefused:
        raise
    except (PdfReadError, OSError, KeyError, ValueError, TypeError):
        raise EvidenceRefused(_("This PDF is damaged and cannot be read. Please export it again.")) from None
    if active:
        raise EvidenceRefused(pdf_active_message())
    return []


def _process(evidence: Evidence) -> list[str]:
    if evidence.content_type in IMAGE_TYPES:
        return _process_image(evidence)
    if evidence.content_type == PDF_TYPE:
        return _process_pdf(evidence)
    return []  # CSV: its rows were parsed into records when the appeal was filed


def evidence_process(*, evidence_id) -> Evidence | None:
    """Process one evidence file if it is still pending (safe to run twice, or after a crash)."""
    with transaction.atomic():
        evidence = (
            Evidence.objects.select_for_update(of=("self",)).select_related("appeal")
            .filter(pk=evidence_id, status=Evidence.Status.PENDING, purged_at__isnull=True).first()
        )
        if evidence is None:
            return None
        obsolete: list[str] = []
        try:
            # A refusal reason is shown to the appellant: write it in their language.
            with translation.override(evidence.appeal.language):
                obsolete = _process(evidence)
            evidence.status = Evidence.Status.READY
        except EvidenceRefused as refused:
            # Nothing refused is ever served: the file goes; the fingerprint and the reason stay.
            obsolete = [evidence.file.name]
            evidence.file.name = ""
            evidence.status, evidence.status_reason = Evidence.Status.REJECTED, refused.message
            evidence_refused_record(evidence=evidence, message=refused.message)
        evidence.processed_at = timezone.now()
        evidence.save()
        transaction.on_commit(lambda: [evidence_storage.delete(name) for name in obsolete if name])
    return evidence


def evidence_process_pending(*, older_than_seconds: int = 120, limit: int = 200) -> int:
    """The beat sweep: process what the broker never delivered (e.g. Redis was down at upload)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    pending = Evidence.objects.filter(status=Evidence.Status.PENDING, created_at__lte=cutoff).values_list("pk", flat=True)
    return sum(evidence_process(evidence_id=pk) is not None for pk in list(pending[:limit]))

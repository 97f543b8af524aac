"""Evidence files attached to an appeal."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Appeal, EvidenceKind

from .storage import evidence_upload_to, get_evidence_storage

# What content sniffing calls the two kinds that are served rebuilt (evidence/validation.py uses these).
PDF_TYPE = "application/pdf"
CSV_TYPE = "text/csv"


class Evidence(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Being processed")
        READY = "ready", _("Ready")
        REJECTED = "rejected", _("Needs a new upload")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=32, choices=EvidenceKind.choices)
    file = models.FileField(storage=get_evidence_storage, upload_to=evidence_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    perceptual_hash = models.CharField(_("perceptual hash"), max_length=64, blank=True, db_index=True)
    # The same 64-bit pHash as a signed integer, so the database can compare Hamming distances.
    perceptual_hash_bits = models.BigIntegerField(null=True, blank=True, editable=False)
    thumbnail = models.FileField(storage=get_evidence_storage, max_length=200, blank=True)
    # A PDF's pages rendered to images (storage names, in page order): with `file`, the PDF rebuilt
    # from them, the only form in which a PDF is served. The uploaded PDF is deleted after rendering.
    pages = models.JSONField(default=list, blank=True, editable=False)
    # What a photo's metadata said before processing stripped it ({"software": …, "taken_at": …}):
    # read for the risk score (tickets/risk/services.py), never served.
    photo_metadata = models.JSONField(default=dict, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(_("reason"), max_length=255, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # Counted (and committed) before each processing run: a file that keeps getting its worker killed
    # at the hard time limit is refused instead of being retried for ever.
    processing_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # Retention: the files are deleted; the fingerprints (SHA-256, pHash) and the audit trail stay.
    purged_at = models.DateTimeField(_("files deleted at"), null=True, blank=True)
    # Deleted before the retention period ended because the appellant asked (from the status page).
    purged_on_request = models.BooleanField(_("deleted at the appellant's request"), default=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("verified by"),
    )
    uploaded_by_appellant = models.BooleanField(default=True)
    # A file sent in place of one that processing refused (from the status page).
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "kind"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.original_name}"

    @property
    def processed_copy_ready(self) -> bool:
        """Processing made the copy that may be given out, never the uploaded bytes: accepted, still kept,
        and for a PDF rebuilt from its rendered pages, for a CSV neutralised (a row from before either
        existed is processed again by the sweep, see migration 0004_pdf_pages_csv_processing_attempts)."""
        if self.status != self.Status.READY or self.purged_at or not self.file.name:
            return False
        if self.content_type == PDF_TYPE:
            return bool(self.pages) and self.file.name.endswith(".clean.pdf")
        if self.content_type == CSV_TYPE:
            return self.file.name.endswith(".clean.csv")
        return True

    def stored_names(self) -> list[str]:
        """Every file in evidence storage that belongs to this evidence."""
        return [name for name in (self.file.name, self.thumbnail.name, *self.pages) if name]


class EvidenceAccess(models.Model):
    """Who viewed which evidence file, when, from where."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="accesses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # No user: the appellant, holding a valid tracking link.
    by_appellant = models.BooleanField(default=False)
    thumbnail = models.BooleanField(default=False)
    page = models.PositiveSmallIntegerField(null=True, blank=True)  # a rendered page of a PDF
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        who = "appellant" if self.by_appellant else f"user {self.user_id}"
        return f"{who} {self.created_at:%Y-%m-%d %H:%M}"


# The longest reason a staff member may give to see an appeal's evidence files (evidence/access.py).
EVIDENCE_REASON_MAX_CHARS = 300


class EvidenceAccessReason(models.Model):
    """Need-to-know (evidence/access.py): a staff member who is not among those who see an appeal's
    files stated why they must, which lets them see those files until `expires_at`
    (EVIDENCE_REASON_GRANT_MINUTES after). Kept for the audit and listed in the supervisors' daily digest."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="evidence_reasons")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=EVIDENCE_REASON_MAX_CHARS)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["appeal", "user", "expires_at"], name="evidence_reason_grant")]

    def __str__(self) -> str:
        return f"user {self.user_id} {self.created_at:%Y-%m-%d %H:%M}"


class EvidenceReasonDigest(models.Model):
    """The supervisors' daily digest of the reasons given: one row per (Beijing) day it covers, written
    with its e-mails, so that a second run for the same day sends nothing."""

    day = models.DateField(unique=True)
    reasons = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d}"

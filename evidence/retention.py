"""Retention (SPEC §6): evidence files are deleted EVIDENCE_RETENTION_DAYS after the decision.
The evidence rows stay, with their fingerprints (SHA-256, perceptual hash) and the audit trail;
an appeal under legal hold keeps its files."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets.events import evidence_purged_event

from .models import Evidence
from .storage import evidence_storage


def evidence_purge_expired(*, now=None, limit: int = 1000) -> int:
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVIDENCE_RETENTION_DAYS)
    expired = (
        Evidence.objects.filter(
            purged_at__isnull=True,
            appeal__closed_at__lte=cutoff,
            appeal__legal_hold=False,
        )
        # The longest expired first, walking the appeals' closed_at index (the default order, the
        # evidence's created_at, has no index: every run would sort the whole backlog).
        .order_by("appeal__closed_at")
        .values_list("pk", flat=True)
    )
    purged = 0
    for pk in list(expired[:limit]):
        with transaction.atomic():
            evidence = (
                Evidence.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("appeal")
                .filter(pk=pk, purged_at__isnull=True, appeal__legal_hold=False)
                .order_by("pk")
                .first()
            )
            if evidence is None:
                continue
            evidence_files_purge(evidence=evidence, now=now)
            evidence_purged_event(evidence=evidence)
            purged += 1
    return purged


def evidence_files_purge(*, evidence: Evidence, now, on_request: bool = False) -> None:
    """Delete the stored copies of one evidence row, locked by the caller inside its transaction: the
    row stays with its fingerprints, its access log and the appeal's events; the files go once the
    transaction commits. `on_request`: the appellant asked (tickets/services/rights.py), not retention."""
    names = evidence.stored_names()
    evidence.file.name, evidence.thumbnail.name, evidence.pages = "", "", []
    evidence.purged_at, evidence.purged_on_request = now, on_request
    evidence.save(update_fields=["file", "thumbnail", "pages", "purged_at", "purged_on_request"])
    transaction.on_commit(lambda: [evidence_storage.delete(n) for n in names])

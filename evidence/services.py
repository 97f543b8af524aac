"""Evidence services: files stored under random names in private storage (`evidence_store`, and their
clean-up when the transaction that wrote them fails), and what happens around a file that processing
refused — the record of it on the appeal, and the people who must hear of it: the appellant (who can
replace the file from the status page) and the agent holding the appeal. An unassigned appeal tells
no agent: it waits in the queue, and whoever claims it sees the refusal on the console."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from supportdesk.queueing import delay_on_commit
from tickets.events import evidence_refused_event, evidence_viewed_event
from tickets.models import Appeal
from tickets.outbox.services import appellant_email_enqueue, outbox_enqueue

from .models import Evidence, EvidenceAccess
from .storage import evidence_storage, evidence_upload_to

logger = logging.getLogger(__name__)

PROCESS_TASK = "evidence.tasks.evidence_process"  # evidence/tasks.py; on the "evidence" queue


def evidence_assignee_notify(*, evidence, template: str, context: dict | None = None) -> None:
    """E-mail the agent holding the evidence's appeal (in the console's language), if anyone does."""
    appeal = evidence.appeal
    assignee = appeal.assignee
    if assignee is None or not assignee.email:
        return
    console_url = f"{settings.SITE_URL}{reverse('desk:appeal', args=[appeal.reference])}"
    outbox_enqueue(
        template=template,
        to=assignee.email,
        language=settings.LANGUAGE_CODE,
        appeal=appeal,
        context={"evidence": evidence, "console_url": console_url, **(context or {})},
    )


def evidence_refused_record(*, evidence, message: str) -> None:
    """Called inside the processing transaction once `evidence` is marked rejected: the audit row,
    and (through the outbox, so in the same transaction) the e-mails."""
    evidence_refused_event(evidence=evidence, message=message)
    appeal = evidence.appeal
    if not appeal.is_open:
        return  # withdrawn or decided meanwhile: there is nothing to replace the file for
    appellant_email_enqueue(appeal=appeal, template="evidence_refused", evidence=evidence, reason=message)
    evidence_assignee_notify(evidence=evidence, template="evidence_refused_staff", context={"reason": message})


def stored_files_delete(names: list[str]) -> None:
    """After a failed transaction: delete every file it wrote. One that cannot be deleted (a broken
    disk) is logged and left to the orphan sweep; the others are still deleted, and the caller's
    original error goes on. A file whose save failed part-way was already removed by the storage."""
    for name in names:
        try:
            evidence_storage.delete(name)
        except OSError as exc:
            logger.warning("evidence: could not delete %s after a failed submission (%s)", name, type(exc).__name__)


@contextmanager
def evidence_files_cleanup() -> Iterator[list[str]]:
    """`with evidence_files_cleanup() as stored_names, transaction.atomic():` — the names of the files
    written inside (`evidence_store` appends them) are deleted if the block fails, its commit included,
    and the error goes on. Outside the transaction, so that a failed commit deletes them too."""
    stored_names: list[str] = []
    try:
        yield stored_names
    except BaseException:
        stored_files_delete(stored_names)
        raise


def evidence_store(
    *, appeal: Appeal, files: list[tuple], stored_names: list[str], queue_processing: bool = True
) -> list[Evidence]:
    """Write files to private storage under random names and record them in one INSERT. The caller
    owns the transaction and deletes `stored_names` if it fails (`evidence_files_cleanup`). Each file's
    processing is queued after commit, unless the caller queues it another way (`appeal_submit`)."""
    created = []
    for kind, uploaded, sniffed in files:
        name = evidence_storage.save(evidence_upload_to(None, uploaded.name), uploaded)
        stored_names.append(name)
        created.append(
            Evidence(
                appeal=appeal,
                kind=kind,
                file=name,
                original_name=(uploaded.name or "")[-255:],
                content_type=sniffed.content_type,
                size=sniffed.size,
                sha256=sniffed.sha256,
                width=sniffed.width,
                height=sniffed.height,
            )
        )
    Evidence.objects.bulk_create(created)
    if queue_processing:
        for evidence in created:
            delay_on_commit(PROCESS_TASK, str(evidence.pk))
    return created


@transaction.atomic
def evidence_access_record(
    *, evidence: Evidence, user, by_appellant: bool, ip: str | None, thumbnail: bool = False, page: int | None = None
) -> EvidenceAccess:
    """A file served (`evidence/views.py`): who opened it, from where, logged for each file, thumbnail
    and page image; and on the appeal's timeline the opening of the file or of its page viewer (page 1),
    not every page image loaded. `user` is the staff member, None for the appellant."""
    access = EvidenceAccess.objects.create(
        evidence=evidence, user=user, by_appellant=by_appellant, ip_address=ip, thumbnail=thumbnail, page=page
    )
    if not thumbnail and page in (None, 1):
        evidence_viewed_event(evidence=evidence, actor=user)
    return access

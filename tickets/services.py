"""Appeal services: one function per action. Each locks what it changes, runs the transition, writes
the audit event and queues its e-mails through the outbox, all in one transaction (STYLE.md §1-2)."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from evidence.models import Evidence
from evidence.notices import evidence_assignee_notify
from evidence.storage import evidence_storage, evidence_upload_to
from evidence.tasks import evidence_process as evidence_process_task
from supportdesk.queueing import delay_on_commit

from .events import evidence_replaced_event
from .models import (
    COOLING_OFF,
    Appeal,
    AppealEvent,
    AppealState,
    AppealType,
    LoginDeviceRecord,
    OutboundEmail,
    RechargeRecord,
)
from .notifications import outbox_deliver, outbox_enqueue, outbox_enqueue_unrendered
from .tracking import tracking_url

logger = logging.getLogger(__name__)


def id_number_hmac(normalised: str) -> str:
    """The matching key for an ID number; the number itself is never stored."""
    return salted_hmac("tickets.id-number", normalised, secret=settings.ID_NUMBER_HMAC_KEY, algorithm="sha256").hexdigest()


def appeal_submit(
    *,
    appeal_type: AppealType,
    fields: dict,
    id_number: str,
    recharge_rows: list[dict],
    device_rows: list[dict],
    files: list[tuple],
    ip: str | None = None,
) -> Appeal:
    """File an appeal: the appeal, its records and its evidence files in one transaction, and the
    acknowledgement in the outbox. If anything fails, nothing is kept, not even files on disk.

    The request publishes one task, after commit (`appeal_submitted_follow_up` in the worker): it
    queues the files' processing and renders and sends the acknowledgement. If the broker is down, the
    beat sweeps do both once it is back (the outbox row and the pending evidence are committed)."""
    from .tasks import appeal_submitted as follow_up_task  # the task module imports this one

    stored_names: list[str] = []
    try:
        with transaction.atomic():
            appeal = _appeal_create(appeal_type=appeal_type, fields=fields, id_number=id_number, ip=ip)
            RechargeRecord.objects.bulk_create(RechargeRecord(appeal=appeal, **row) for row in recharge_rows)
            LoginDeviceRecord.objects.bulk_create(LoginDeviceRecord(appeal=appeal, **row) for row in device_rows)
            evidence_store(appeal=appeal, files=files, stored_names=stored_names, queue_processing=False)
            AppealEvent.objects.create(
                appeal=appeal,
                kind=AppealEvent.Kind.SUBMIT,
                actor_label="appellant",
                to_state=appeal.state,
                public=True,
            )
            outbox_enqueue_unrendered(
                template="acknowledgement", to=appeal.contact_email, language=appeal.language, appeal=appeal
            )
            delay_on_commit(follow_up_task, appeal.pk)
    except BaseException:
        _stored_files_delete(stored_names)
        raise
    return appeal


def _stored_files_delete(names: list[str]) -> None:
    """After a failed transaction: delete every file it wrote. One that cannot be deleted (a broken
    disk) is logged and left to the orphan sweep; the others are still deleted, and the caller's
    original error goes on. A file whose save failed part-way was already removed by the storage."""
    for name in names:
        try:
            evidence_storage.delete(name)
        except OSError as exc:
            logger.warning("evidence: could not delete %s after a failed submission (%s)", name, type(exc).__name__)


def appeal_submitted_follow_up(*, appeal_id: int) -> None:
    """What follows a new appeal, in the worker: its files queued for processing (each its own task
    on the evidence queue, under its own time limits), then its acknowledgement rendered in the
    appellant's language and sent. Safe to run twice: only pending files and e-mails are taken, and a
    file or e-mail already being handled is skipped by its own claim."""
    pending = Evidence.objects.filter(appeal_id=appeal_id, status=Evidence.Status.PENDING).values_list("pk", flat=True)
    for evidence_id in pending:
        evidence_process_task.delay(str(evidence_id))
    acknowledgements = OutboundEmail.objects.filter(
        appeal_id=appeal_id,
        template="acknowledgement",
        status=OutboundEmail.Status.PENDING,
        next_attempt_at__lte=timezone.now(),  # one that failed waits for its backoff and the sweep
    ).values_list("pk", flat=True)
    for email_id in acknowledgements:
        outbox_deliver(email_id=email_id)


def evidence_store(
    *, appeal: Appeal, files: list[tuple], stored_names: list[str], queue_processing: bool = True
) -> list[Evidence]:
    """Write files to private storage under random names and record them in one INSERT. The caller
    owns the transaction and deletes `stored_names` if it fails (`_stored_files_delete`). Each file's
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
            delay_on_commit(evidence_process_task, str(evidence.pk))
    return created


def _cooling_off_of(*, appeal_type: AppealType, account_identifier: str, now) -> int | None:
    """The id of an appeal of the same type and account approved within the cooling-off period. Only
    the id: selecting the whole row cost the submission more CPU than the look-up itself."""
    if not account_identifier:
        return None
    return (
        Appeal.objects.filter(
            appeal_type=appeal_type,
            account_identifier__iexact=account_identifier,
            state=AppealState.APPROVED,
            closed_at__gte=now - COOLING_OFF,
        )
        .order_by("-closed_at")
        .values_list("pk", flat=True)
        .first()
    )


def _appeal_create(*, appeal_type: AppealType, fields: dict, id_number: str, ip: str | None) -> Appeal:
    now = timezone.now()
    due, warn = appeal_type.sla_times(now)
    for _attempt in range(5):
        appeal = Appeal(
            appeal_type=appeal_type,
            created_at=now,
            sla_due_at=due,
            sla_warn_at=warn,
            submitted_ip=ip,
            cooling_off_of_id=_cooling_off_of(
                appeal_type=appeal_type, account_identifier=fields.get("account_identifier", ""), now=now
            ),
            id_number_last4=id_number[-4:] if id_number else "",
            id_number_hmac=id_number_hmac(id_number) if len(id_number) > 4 else "",
            **fields,
        )
        try:
            with transaction.atomic():  # a savepoint: a reference collision retries with a new one
                appeal.save()
            return appeal
        except IntegrityError:
            if not Appeal.objects.filter(reference=appeal.reference).exists():
                raise
    raise IntegrityError("could not allocate a unique appeal reference")


@transaction.atomic
def appeal_withdraw(*, appeal: Appeal, comment: str = "") -> Appeal:
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    from_state = appeal.state
    appeal.withdraw()  # TransitionNotAllowed when the appeal is already decided or closed
    appeal.save()
    AppealEvent.objects.create(
        appeal=appeal,
        kind=AppealEvent.Kind.WITHDRAW,
        actor_label="appellant",
        from_state=from_state,
        to_state=appeal.state,
        comment=comment,
        public=True,
    )
    outbox_enqueue(
        template="withdrawn",
        to=appeal.contact_email,
        language=appeal.language,
        appeal=appeal,
        context={"tracking_url": tracking_url(appeal.reference)},
    )
    return appeal


def appeal_tracking_link_request(*, reference: str, email: str) -> bool:
    """A tracking link asked for: whether the reference and e-mail match an appeal. The request does the
    same work either way — one look-up, one task queued (naming the appeal, or none) — and the work that
    differs, the audit event and the e-mail, runs in the task after the response, so neither the answer
    nor its timing tells which references or e-mails exist."""
    from .tasks import appeal_tracking_link_send as send_task  # the task module imports this one

    appeal_id = (
        Appeal.objects.filter(reference=reference.strip().upper(), contact_email__iexact=email.strip())
        .values_list("pk", flat=True)
        .first()
    )
    delay_on_commit(send_task, appeal_id)
    return appeal_id is not None


@transaction.atomic
def appeal_tracking_link_send(*, appeal_id: int | None) -> None:
    """Mail a tracking link to the appeal's contact address (nothing when no appeal matched)."""
    appeal = Appeal.objects.filter(pk=appeal_id).first() if appeal_id is not None else None
    if appeal is None:
        return
    AppealEvent.objects.create(appeal=appeal, kind=AppealEvent.Kind.TRACKING_LINK, actor_label="appellant", public=False)
    outbox_enqueue(
        template="tracking_link",
        to=appeal.contact_email,
        language=appeal.language,
        appeal=appeal,
        context={"tracking_url": tracking_url(appeal.reference)},
    )


def _appellant_files_transition(*, appeal: Appeal, action: str, message: str, files: list[tuple]) -> Appeal:
    """provide_info / reopen: the appellant's message and new files, and the transition, atomically."""
    stored_names: list[str] = []
    try:
        with transaction.atomic():
            appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=appeal.pk)
            from_state, holder = appeal.state, appeal.assignee  # reopen clears the assignee: tell who decided it
            getattr(appeal, action)()  # TransitionNotAllowed when the state (or the reopen window) does not allow it
            appeal.answered_at = timezone.now()
            appeal.save()
            added = evidence_store(appeal=appeal, files=files, stored_names=stored_names)
            AppealEvent.objects.create(
                appeal=appeal,
                kind=action,
                actor_label="appellant",
                from_state=from_state,
                to_state=appeal.state,
                comment=message,
                public=True,
            )
            _appellant_answered_notify(appeal=appeal, holder=holder, action=action, added=added)
    except BaseException:
        _stored_files_delete(stored_names)
        raise
    return appeal


def _appellant_answered_notify(*, appeal: Appeal, holder, action: str, added: list[Evidence]) -> None:
    """E-mail the agent who held the appeal (in the console's language) that the appellant answered or
    reopened it, with what came in. The message itself stays in the console, behind its access checks."""
    if holder is None or not holder.email:
        return
    outbox_enqueue(
        template="appellant_answered_staff",
        to=holder.email,
        language=settings.LANGUAGE_CODE,
        appeal=appeal,
        context={
            "reopened": action == "reopen",
            "added": added,
            "console_url": f"{settings.SITE_URL}{reverse('desk:appeal', args=[appeal.reference])}",
        },
    )


def appeal_provide_info(*, appeal: Appeal, message: str, files: list[tuple]) -> Appeal:
    """The appellant answers a request for information; the SLA clock resumes."""
    return _appellant_files_transition(appeal=appeal, action="provide_info", message=message, files=files)


def appeal_reopen(*, appeal: Appeal, message: str, files: list[tuple]) -> Appeal:
    """The appellant reopens a rejected appeal (within REOPEN_WINDOW_DAYS) with new evidence."""
    return _appellant_files_transition(appeal=appeal, action="reopen", message=message, files=files)


class EvidenceReplaceRefused(Exception):
    """A replacement that cannot be made; `message` is for the appellant."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def evidence_replace(*, appeal: Appeal, evidence: Evidence, upload: tuple) -> Evidence:
    """The appellant sends a new file in place of one that processing refused, in any open state: it
    is stored as the same kind, linked to the refused one, recorded on the appeal, processed like any
    upload, and the agent holding the appeal is told. `upload` is (uploaded file, sniffed)."""
    uploaded, sniffed = upload
    stored_names: list[str] = []
    try:
        with transaction.atomic():
            appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=appeal.pk)
            refused = Evidence.objects.select_for_update().filter(pk=evidence.pk, appeal=appeal).first()
            if not appeal.is_open:
                raise EvidenceReplaceRefused(_("This appeal is decided or closed: its files can no longer be replaced."))
            if refused is None or refused.status != Evidence.Status.REJECTED:
                raise EvidenceReplaceRefused(_("Only a file that we refused can be replaced."))
            if Evidence.objects.filter(replaces=refused).exists():
                raise EvidenceReplaceRefused(_("This file has already been replaced."))
            (replacement,) = evidence_store(appeal=appeal, files=[(refused.kind, uploaded, sniffed)], stored_names=stored_names)
            replacement.replaces = refused
            replacement.save(update_fields=["replaces"])
            evidence_replaced_event(refused=refused, replacement=replacement)
            appeal.answered_at = timezone.now()
            appeal.save(update_fields=["answered_at"])
            evidence_assignee_notify(evidence=replacement, template="evidence_replaced_staff")
    except BaseException:
        _stored_files_delete(stored_names)
        raise
    return replacement

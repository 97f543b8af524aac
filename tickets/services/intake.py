"""Intake: an appeal filed from the public form (or, later, by a platform), its records and evidence in
one transaction, and what follows it in the worker. Each service locks what it changes, runs the
transition, writes the audit event and queues its e-mails through the outbox, all in one transaction
(STYLE.md §1-2)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from evidence.models import Evidence
from evidence.services import PROCESS_TASK, evidence_files_cleanup, evidence_store
from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_event_record
from supportdesk.queueing import delay_now, delay_on_commit
from tickets.assignment.services import assignment_run
from tickets.events import appeal_submitted_event
from tickets.id_numbers import id_number_hmac
from tickets.models import (
    COOLING_OFF,
    Appeal,
    AppealState,
    AppealType,
    LoginDeviceRecord,
    OutboundEmail,
    RechargeRecord,
)
from tickets.outbox.services import outbox_deliver, outbox_enqueue_unrendered
from tickets.risk.services import appeal_risk_score, appeal_velocity_lock

FOLLOW_UP_TASK = "tickets.tasks.appeal_submitted"  # services/tasks.py; the name queued messages carry


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
    beat sweeps do both once it is back (the outbox row and the pending evidence are committed).

    The velocity cap is counted again here, under locks on the appeal's ID number, phone, e-mail and
    device IDs (`appeal_velocity_lock`): two appeals sent at once for the same person cannot both pass
    the form's check. Past the cap it raises ValidationError and nothing is stored."""
    with evidence_files_cleanup() as stored_names, transaction.atomic():
        appeal_velocity_lock(
            id_number=id_number,
            contact_phone=fields.get("contact_phone", ""),
            contact_email=fields.get("contact_email", ""),
            device_ids=[row.get("device_id", "") for row in device_rows],
        )
        appeal = _appeal_create(appeal_type=appeal_type, fields=fields, id_number=id_number, ip=ip)
        RechargeRecord.objects.bulk_create(RechargeRecord(appeal=appeal, **row) for row in recharge_rows)
        LoginDeviceRecord.objects.bulk_create(LoginDeviceRecord(appeal=appeal, **row) for row in device_rows)
        evidence_store(appeal=appeal, files=files, stored_names=stored_names, queue_processing=False)
        appeal_submitted_event(appeal=appeal)
        integration_event_record(type=IntegrationEvent.Type.SUBMITTED, appeal=appeal)
        outbox_enqueue_unrendered(template="acknowledgement", to=appeal.contact_email, language=appeal.language, appeal=appeal)
        delay_on_commit(FOLLOW_UP_TASK, appeal.pk)
    return appeal


def appeal_submitted_follow_up(*, appeal_id: int) -> None:
    """What follows a new appeal, in the worker: its files queued for processing (each its own task
    on the evidence queue, under its own time limits), then its acknowledgement rendered in the
    appellant's language and sent. Safe to run twice: only pending files and e-mails are taken, and a
    file or e-mail already being handled is skipped by its own claim. Its risk score is computed here,
    out of the request (and again as each file is processed), with the related appeals'. Then, when
    automatic assignment is on, it goes to an agent with room (tickets/assignment/services.py)."""
    appeal_risk_score(appeal_id=appeal_id)
    assignment_run(appeal_ids=[appeal_id])  # automatic assignment, when on: to an agent with room, or it waits
    pending = Evidence.objects.filter(appeal_id=appeal_id, status=Evidence.Status.PENDING).values_list("pk", flat=True)
    for evidence_id in pending:
        delay_now(PROCESS_TASK, str(evidence_id))
    acknowledgements = OutboundEmail.objects.filter(
        appeal_id=appeal_id,
        template="acknowledgement",
        status=OutboundEmail.Status.PENDING,
        next_attempt_at__lte=timezone.now(),  # one that failed waits for its backoff and the sweep
    ).values_list("pk", flat=True)
    for email_id in acknowledgements:
        outbox_deliver(email_id=email_id)


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
    for _attempt in range(5):
        appeal = Appeal(
            appeal_type=appeal_type,
            created_at=now,
            submitted_ip=ip,
            cooling_off_of_id=_cooling_off_of(
                appeal_type=appeal_type, account_identifier=fields.get("account_identifier", ""), now=now
            ),
            id_number_last4=id_number[-4:] if id_number else "",
            id_number_hmac=id_number_hmac(id_number) if len(id_number) > 4 else "",
            **fields,
        )
        appeal.sla_clock_start(now)  # due, warning and escalation levels: on the type's calendar if it has one
        try:
            with transaction.atomic():  # a savepoint: a reference collision retries with a new one
                appeal.save()
            return appeal
        except IntegrityError:
            if not Appeal.objects.filter(reference=appeal.reference).exists():
                raise
    raise IntegrityError("could not allocate a unique appeal reference")

"""What the appellant does after filing, from the status page or the tracking form: withdraw, answer a
request for information, reopen a rejected appeal, replace a refused file, ask for a tracking link.
Each service locks the appeal, runs the transition, writes the audit event and queues its e-mails
through the outbox, in one transaction; a transition the appeal's state does not allow raises
`WorkflowError` with a message for the appellant."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed

from evidence.models import Evidence
from evidence.services import evidence_assignee_notify, evidence_files_cleanup, evidence_store
from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_event_record
from supportdesk.queueing import delay_on_commit
from tickets.assignment.services import assignment_after_commit
from tickets.events import (
    appeal_info_provided_event,
    appeal_reopened_event,
    appeal_tracking_link_event,
    appeal_withdrawn_event,
    evidence_replaced_event,
)
from tickets.models import Appeal, AppealState
from tickets.outbox.services import appellant_email_enqueue, outbox_enqueue

from .errors import EvidenceReplaceRefused, WorkflowError
from .reasons import requested_files_answer

TRACKING_LINK_TASK = "tickets.tasks.appeal_tracking_link_send"  # services/tasks.py


def _appellant_transition(appeal: Appeal, action: str, refused: str) -> None:
    """Run the appellant's transition `action`, or raise WorkflowError(`refused`) when the appeal's state
    (or the reopen window) does not allow it."""
    try:
        getattr(appeal, action)()
    except TransitionNotAllowed:
        raise WorkflowError(refused) from None


@transaction.atomic
def appeal_withdraw(*, appeal: Appeal, comment: str = "") -> Appeal:
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    from_state = appeal.state
    _appellant_transition(appeal, "withdraw", _("This appeal can no longer be withdrawn: it has already been decided or closed."))
    appeal.save()
    assignment_after_commit(agent_ids=[appeal.assignee_id])  # its holder has a place free
    appeal_withdrawn_event(appeal=appeal, from_state=from_state, comment=comment)
    integration_event_record(type=IntegrationEvent.Type.WITHDRAWN, appeal=appeal)
    appellant_email_enqueue(appeal=appeal, template="withdrawn")
    return appeal


def appeal_tracking_link_request(*, reference: str, email: str) -> bool:
    """A tracking link asked for: whether the reference and e-mail match an appeal. The request does the
    same work either way — one look-up, one task queued (naming the appeal, or none) — and the work that
    differs, the audit event and the e-mail, runs in the task after the response, so neither the answer
    nor its timing tells which references or e-mails exist."""
    appeal_id = (
        Appeal.objects.filter(reference=reference.strip().upper(), contact_email__iexact=email.strip())
        .values_list("pk", flat=True)
        .first()
    )
    delay_on_commit(TRACKING_LINK_TASK, appeal_id)
    return appeal_id is not None


@transaction.atomic
def appeal_tracking_link_send(*, appeal_id: int | None) -> None:
    """Mail a tracking link to the appeal's contact address (nothing when no appeal matched)."""
    appeal = Appeal.objects.filter(pk=appeal_id).first() if appeal_id is not None else None
    if appeal is None:
        return
    appeal_tracking_link_event(appeal=appeal)
    appellant_email_enqueue(appeal=appeal, template="tracking_link")


# What each answer writes on the appeal, and what the appellant is told when the appeal no longer allows it.
_ANSWER_EVENTS = {"provide_info": appeal_info_provided_event, "reopen": appeal_reopened_event}


def _answer_refused(action: str) -> str:
    if action == "provide_info":
        return _("This appeal is no longer waiting for your answer: nothing was sent. Here is where it stands now.")
    return _("This appeal changed in the meantime: nothing was sent. Here is where it stands now.")


def _appellant_files_transition(*, appeal: Appeal, action: str, message: str, files: list[tuple]) -> Appeal:
    """provide_info / reopen: the appellant's message and new files, and the transition, atomically."""
    with evidence_files_cleanup() as stored_names, transaction.atomic():
        appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=appeal.pk)
        from_state, holder = appeal.state, appeal.assignee  # reopen clears the assignee: tell who decided it
        _appellant_transition(appeal, action, _answer_refused(action))
        appeal.answered_at = timezone.now()
        appeal.save()
        added = evidence_store(appeal=appeal, files=files, stored_names=stored_names)
        if action == "provide_info":  # the files of the kinds asked for answer the request's slots
            requested_files_answer(appeal=appeal, added=added)
        _ANSWER_EVENTS[action](appeal=appeal, from_state=from_state, message=message)
        _appellant_answered_notify(appeal=appeal, holder=holder, action=action, added=added)
        if appeal.state == AppealState.SUBMITTED and appeal.assignee_id is None:
            assignment_after_commit(appeal_ids=[appeal.pk])  # back in the queue, nobody's: it waits again
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


def appeal_may_reopen(*, appeal: Appeal) -> bool:
    """Whether the appellant may reopen this appeal now: rejected, and within the reopen window (the
    transition's own condition, so the status page offers exactly what `appeal_reopen` accepts)."""
    return appeal.state == AppealState.REJECTED and can_proceed(appeal.reopen)


def appeal_reopen(*, appeal: Appeal, message: str, files: list[tuple]) -> Appeal:
    """The appellant reopens a rejected appeal (within REOPEN_WINDOW_DAYS) with new evidence."""
    return _appellant_files_transition(appeal=appeal, action="reopen", message=message, files=files)


def evidence_replace(*, appeal: Appeal, evidence: Evidence, upload: tuple) -> Evidence:
    """The appellant sends a new file in place of one that processing refused, in any open state: it
    is stored as the same kind, linked to the refused one, recorded on the appeal, processed like any
    upload, and the agent holding the appeal is told. `upload` is (uploaded file, sniffed)."""
    uploaded, sniffed = upload
    with evidence_files_cleanup() as stored_names, transaction.atomic():
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
    return replacement

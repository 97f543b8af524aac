"""Agent and supervisor actions on an appeal (SPEC §4).

Each action is one service: it locks the appeal row, checks that the appeal is still in the state the
actor saw, checks the transition's source state, conditions and permission (each with its own clear
message), runs the django-fsm transition, saves, writes the audit event and queues its e-mail
through the outbox, all in one transaction. Two people acting at once: the second waits for the
first's lock, then finds the state changed and is told so.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from evidence.models import Evidence
from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_event_record
from tickets.assignment.services import assignment_after_commit
from tickets.events import (
    appeal_action_event,
    appeal_assigned_event,
    appeal_comment_event,
    evidence_verified_event,
    fresh_photo_code_confirmed_event,
)
from tickets.fresh_photo import appeal_needs_code_match
from tickets.labels import staff_state_label
from tickets.models import Appeal, AppealEvent, AppealState
from tickets.outbox.services import appellant_email_enqueue
from tickets.roles import is_agent, is_supervisor

from .errors import AppealChanged, WorkflowError
from .hold import appeal_hold_or_release
from .outcome import review_sample_draw
from .reasons import rejection_reason_check, rejection_reason_record, requested_files_check, requested_files_record
from .satisfaction import satisfaction_email_context


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    # The text field the console shows with the button, if any, and whether it must be filled.
    comment_label: str = ""
    comment_required: bool = False
    # Public events appear on the appellant's status page.
    public: bool = False
    email: str = ""
    style: str = "outline-primary"
    needs_assignee: bool = False
    # What the console says once it is done, with `%(reference)s`.
    done: str = ""


ACTIONS = {
    action.name: action
    for action in (
        Action("claim", gettext_lazy("Claim"), style="primary", done=gettext_lazy("%(reference)s: claimed.")),
        Action(
            "request_info",
            gettext_lazy("Request information"),
            comment_label=gettext_lazy("What the appellant must send (they see this)"),
            comment_required=True,
            public=True,
            email="request_info",
            done=gettext_lazy("%(reference)s: information requested; the appellant is told by e-mail."),
        ),
        Action(
            "propose_approval",
            gettext_lazy("Propose approval"),
            comment_label=gettext_lazy("Note for the second approver"),
            style="success",
            done=gettext_lazy("%(reference)s: approval proposed; a different supervisor gives the second approval."),
        ),
        Action(
            "second_approve",
            gettext_lazy("Give second approval"),
            comment_label=gettext_lazy("Next steps for the appellant (they see this)"),
            public=True,
            email="approved",
            style="success",
            done=gettext_lazy(
                "%(reference)s: second approval given; the appeal is approved and the appellant is told by e-mail."
            ),
        ),
        Action(
            "approve",
            gettext_lazy("Approve"),
            comment_label=gettext_lazy("Next steps for the appellant (they see this)"),
            public=True,
            email="approved",
            style="success",
            done=gettext_lazy("%(reference)s: approved; the appellant is told by e-mail."),
        ),
        Action(
            "send_back",
            gettext_lazy("Send back for review"),
            comment_label=gettext_lazy("What must be checked again"),
            comment_required=True,
            style="warning",
            done=gettext_lazy("%(reference)s: sent back for review."),
        ),
        Action(
            "reject",
            gettext_lazy("Reject"),
            comment_label=gettext_lazy("Reason (the appellant sees this)"),
            comment_required=True,
            public=True,
            email="rejected",
            style="danger",
            done=gettext_lazy("%(reference)s: rejected; the appellant is told by e-mail."),
        ),
        Action(
            "escalate",
            gettext_lazy("Escalate"),
            comment_label=gettext_lazy("Why it needs a supervisor"),
            comment_required=True,
            style="outline-danger",
            done=gettext_lazy("%(reference)s: escalated to the supervisors."),
        ),
        Action(
            "resume",
            gettext_lazy("Resume with an agent"),
            needs_assignee=True,
            done=gettext_lazy("%(reference)s: handed back to an agent for review."),
        ),
    )
}


# The actions the platform hears of (integration events, delivered to its webhooks).
INTEGRATION_EVENTS = {
    "request_info": IntegrationEvent.Type.INFO_REQUESTED,
    "approve": IntegrationEvent.Type.DECIDED,
    "second_approve": IntegrationEvent.Type.DECIDED,
    "reject": IntegrationEvent.Type.DECIDED,
}


def _locked(appeal: Appeal, expected_state: str | None) -> Appeal:
    locked = Appeal.objects.select_for_update().select_related("appeal_type").get(pk=appeal.pk)
    if expected_state and locked.state != expected_state:
        raise AppealChanged(
            _("This appeal changed while you were looking at it: it is now “%(state)s”. Here is its new state.")
            % {"state": staff_state_label(locked.state)}
        )
    return locked


def _fsm_transition(appeal: Appeal, action: str):
    """The django-fsm transition `action` would take from the appeal's current state, or None."""
    return getattr(appeal, action)._django_fsm.get_transition(appeal.state)  # noqa: SLF001 - django-fsm's metadata


def _check(appeal: Appeal, action: str, actor) -> None:
    """Explain why `action` is not possible now, most specific reason first."""
    label = ACTIONS[action].label
    transition = _fsm_transition(appeal, action)
    if transition is None:
        raise WorkflowError(
            _("“%(action)s” is not possible while the appeal is “%(state)s”.")
            % {"action": label, "state": staff_state_label(appeal.state)}
        )
    if actor is not None and not transition.has_perm(appeal, actor):
        if action == "second_approve" and actor.pk == appeal.proposed_by_id:
            raise WorkflowError(_("You proposed this approval: a different supervisor must give the second approval."))
        if action == "escalate" and is_agent(actor):
            raise WorkflowError(_("Only the agent handling this appeal or a supervisor can escalate it."))
        raise WorkflowError(_("You are not allowed to “%(action)s” this appeal.") % {"action": label})
    if action in ("approve", "propose_approval", "second_approve"):
        if action == "approve" and not appeal.appeal_type.needs_second_approval and appeal.needs_second_approval:
            raise WorkflowError(
                _(
                    "Its risk score is %(score)d (two people decide from %(threshold)d): "
                    "propose the approval; a different supervisor approves it."
                )
                % {"score": appeal.risk_score, "threshold": settings.RISK_HIGH_THRESHOLD}
            )
        if action == "approve" and appeal.needs_second_approval:
            raise WorkflowError(_("This is a high-risk appeal: propose the approval; a different supervisor approves it."))
        if action == "propose_approval" and not appeal.needs_second_approval:
            raise WorkflowError(_("This appeal needs only one approval: approve it directly."))
        blockers = appeal.approval_blockers()
        if blockers:
            raise WorkflowError(_("It cannot be approved yet: %(reasons)s") % {"reasons": " ".join(blockers)})
    if not all(condition(appeal) for condition in transition.conditions):
        raise WorkflowError(_("“%(action)s” is not possible for this appeal now.") % {"action": label})


APPROVING_ACTIONS = ("approve", "propose_approval", "second_approve")


def _transition(
    *,
    appeal: Appeal,
    actor,
    action: str,
    expected_state: str | None = None,
    comment: str = "",
    code_matches: bool = False,
    requested=(),
    reason_code: str = "",
    **kwargs,
) -> Appeal:
    """Run `action`. `code_matches`: the approver confirmed that the paper in the handheld photo shows
    the appeal's fresh-photo code (needed to approve a type that asks for that photo). `requested`: the
    (evidence kind, reason code) pairs a request for information asks for; `reason_code`: a rejection's
    (tickets/services/reasons.py); both checked before anything is written."""
    spec = ACTIONS[action]
    comment = (comment or "").strip()
    if spec.comment_required and not comment:
        raise WorkflowError(_("Please fill in: %(field)s.") % {"field": spec.comment_label})
    with transaction.atomic():
        appeal = _locked(appeal, expected_state)
        _check(appeal, action, actor)
        # The reasons once the action itself is possible (a stale or forbidden action says so first).
        files = requested_files_check(requested) if action == "request_info" else []
        rejection = rejection_reason_check(reason_code) if action == "reject" else None
        needs_code_match = action in APPROVING_ACTIONS and appeal_needs_code_match(appeal)
        if needs_code_match and not code_matches:
            raise WorkflowError(
                _(
                    "Confirm that the code written on the paper in the handheld photo matches the appeal's code "
                    "(%(code)s) before approving."
                )
                % {"code": appeal.fresh_photo_code or "—"}
            )
        if needs_code_match:
            appeal.fresh_photo_code_confirmed_by, appeal.fresh_photo_code_confirmed_at = actor, timezone.now()
            fresh_photo_code_confirmed_event(appeal=appeal, actor=actor, action=action)
        from_state, held_by = appeal.state, appeal.assignee_id
        method = getattr(appeal, action)
        if action in ("approve", "second_approve", "reject"):
            kwargs["reason"] = comment
        method(by=actor, **kwargs)
        if appeal.state == AppealState.APPROVED:  # a random few go to the supervisors' review sample
            appeal.review_sampled = review_sample_draw()
        if actor is not None and appeal.assignee_id == actor.pk:
            appeal.answered_at = None  # the assignee acted: the appellant's answer has been seen
        appeal.save()
        event = appeal_action_event(
            appeal=appeal, actor=actor, action=action, from_state=from_state, comment=comment, public=spec.public
        )
        reasons = {}
        if files:
            reasons["requested"] = requested_files_record(appeal=appeal, event=event, files=files)
        if rejection is not None:
            reasons["reason_code"] = rejection_reason_record(appeal=appeal, event=event, reason=rejection).reason
        if action in INTEGRATION_EVENTS:
            integration_event_record(type=INTEGRATION_EVENTS[action], appeal=appeal)
        if appeal.state == AppealState.APPROVED:  # decided in favour: held, or released to the platform at once
            appeal = appeal_hold_or_release(appeal=appeal)  # `appeal.held` / `appeal.released` follow `appeal.decided`
        if spec.email:
            rating = satisfaction_email_context(appeal=appeal, decision=event)  # a decision: the rating link
            appellant_email_enqueue(appeal=appeal, template=spec.email, message=comment, **reasons, **rating)
        if held_by is not None and (not appeal.is_open or appeal.assignee_id != held_by):
            assignment_after_commit(agent_ids=[held_by])  # decided, or handed over: a place freed
    return appeal


def appeal_claim(*, appeal: Appeal, actor, expected_state: str | None = None) -> Appeal:
    return _transition(appeal=appeal, actor=actor, action="claim", expected_state=expected_state)


def appeal_request_info(*, appeal: Appeal, actor, message: str, requested, expected_state: str | None = None) -> Appeal:
    """`requested`: the (evidence kind, reason code) pairs asked for, at least one; the kind may be empty
    when the code names it."""
    return _transition(
        appeal=appeal, actor=actor, action="request_info", comment=message, requested=requested, expected_state=expected_state
    )


def appeal_propose_approval(*, appeal: Appeal, actor, **options) -> Appeal:
    """Options: `comment`, `expected_state`, and `code_matches` (see `_transition`)."""
    return _transition(appeal=appeal, actor=actor, action="propose_approval", **options)


def appeal_second_approve(*, appeal: Appeal, actor, **options) -> Appeal:
    """Options: `comment`, `expected_state`, and `code_matches` (see `_transition`)."""
    return _transition(appeal=appeal, actor=actor, action="second_approve", **options)


def appeal_send_back(*, appeal: Appeal, actor, comment: str, expected_state: str | None = None) -> Appeal:
    return _transition(appeal=appeal, actor=actor, action="send_back", comment=comment, expected_state=expected_state)


def appeal_approve(*, appeal: Appeal, actor, **options) -> Appeal:
    """Options: `comment`, `expected_state`, and `code_matches` (see `_transition`)."""
    return _transition(appeal=appeal, actor=actor, action="approve", **options)


def appeal_reject(*, appeal: Appeal, actor, reason: str, reason_code: str, expected_state: str | None = None) -> Appeal:
    """`reason_code`: a ReasonCode for rejections (required); `reason`: the free text beside it."""
    return _transition(
        appeal=appeal, actor=actor, action="reject", comment=reason, reason_code=reason_code, expected_state=expected_state
    )


def appeal_escalate(*, appeal: Appeal, actor, comment: str, expected_state: str | None = None) -> Appeal:
    """A manual escalation by an agent. (The SLA sweep escalates with actor None.)"""
    return _transition(appeal=appeal, actor=actor, action="escalate", comment=comment, expected_state=expected_state)


def appeal_resume(*, appeal: Appeal, actor, assignee, comment: str = "", expected_state: str | None = None) -> Appeal:
    if assignee is None or not is_agent(assignee):
        raise WorkflowError(_("Choose the agent who takes the appeal over."))
    return _transition(
        appeal=appeal, actor=actor, action="resume", comment=comment, expected_state=expected_state, assignee=assignee
    )


def appeal_act(
    *,
    appeal: Appeal,
    actor,
    action: str,
    comment: str = "",
    assignee=None,
    expected_state: str | None = None,
    code_matches: bool = False,
    requested=(),
    reason_code: str = "",
) -> Appeal:
    """The console's entry point: run the named action (see ACTIONS)."""
    if action not in ACTIONS:
        raise WorkflowError(_("Unknown action."))
    if action == "resume":
        return appeal_resume(appeal=appeal, actor=actor, assignee=assignee, comment=comment, expected_state=expected_state)
    return _transition(
        appeal=appeal,
        actor=actor,
        action=action,
        comment=comment,
        expected_state=expected_state,
        code_matches=code_matches,
        requested=requested,
        reason_code=reason_code,
    )


def appeal_actions_for(*, appeal: Appeal, user) -> list[Action]:
    """The actions this user may take on this appeal now (state and permission; conditions are
    explained when tried, so that a blocked approval says why instead of hiding the button)."""
    available = []
    for name, spec in ACTIONS.items():
        transition = _fsm_transition(appeal, name)
        if transition is None or not transition.has_perm(appeal, user):
            continue
        if name == "approve" and appeal.needs_second_approval:
            continue
        if name == "propose_approval" and not appeal.needs_second_approval:
            continue
        available.append(spec)
    return available


@transaction.atomic
def appeal_assign(*, appeal: Appeal, actor, assignee) -> Appeal:
    """A supervisor (re)assigns an appeal; an unclaimed one is claimed for the assignee."""
    if not is_supervisor(actor):
        raise WorkflowError(_("Only supervisors can assign appeals to others."))
    if assignee is None or not is_agent(assignee):
        raise WorkflowError(_("Choose an agent."))
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=appeal.pk)
    from_state, previous = appeal.state, appeal.assignee
    if appeal.state == AppealState.SUBMITTED:
        appeal.claim(by=assignee)
    elif appeal.is_open:
        appeal.assignee = assignee
    else:
        raise WorkflowError(_("A closed appeal cannot be assigned."))
    appeal.save()
    appeal_assigned_event(appeal=appeal, actor=actor, assignee=assignee, from_state=from_state, previous=previous)
    if previous is not None and previous.pk != assignee.pk:
        assignment_after_commit(agent_ids=[previous.pk])  # the override freed a place of the previous holder
    return appeal


def appeal_bulk(*, appeals, actor, action: str, assignee=None) -> tuple[int, list[str]]:
    """Claim or assign several appeals; each in its own transaction. Returns (done, problems)."""
    done, problems = 0, []
    for appeal in appeals:
        try:
            if action == "claim":
                appeal_claim(appeal=appeal, actor=actor, expected_state=AppealState.SUBMITTED)
            else:
                appeal_assign(appeal=appeal, actor=actor, assignee=assignee)
            done += 1
        except WorkflowError as exc:
            problems.append(f"{appeal.reference}: {exc.message}")
    return done, problems


def may_reply(*, appeal: Appeal, user) -> bool:
    """Public replies (e-mailed to the appellant): the assignee or a supervisor, while the appeal is open."""
    return appeal.is_open and _holds(appeal, user)


def may_verify(*, appeal: Appeal, user) -> bool:
    """Marking evidence verified (or undoing it): the assignee or a supervisor, while the appeal is open."""
    return appeal.is_open and _holds(appeal, user)


def _holds(appeal: Appeal, user) -> bool:
    return is_supervisor(user) or (is_agent(user) and appeal.assignee_id is not None and appeal.assignee_id == user.pk)


@transaction.atomic
def appeal_comment(*, appeal: Appeal, actor, text: str, public: bool) -> AppealEvent:
    """An internal note (any agent), or a public reply that is also e-mailed to the appellant (the
    assignee or a supervisor, and only while the appeal is open)."""
    text = (text or "").strip()
    if not text:
        raise WorkflowError(_("Write something first."))
    if not is_agent(actor):
        raise WorkflowError(_("Only agents and supervisors can write on an appeal."))
    appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
    if public and not appeal.is_open:
        raise WorkflowError(_("This appeal is decided or closed: only internal notes can be added."))
    if public and not _holds(appeal, actor):
        raise WorkflowError(_("Only the agent handling this appeal or a supervisor can reply to the appellant."))
    event = appeal_comment_event(appeal=appeal, actor=actor, text=text, public=public)
    appeal_answer_seen(appeal=appeal, user=actor)
    if public and appeal.first_responded_at is None:  # the first response (SLA first-response target)
        Appeal.objects.filter(pk=appeal.pk).update(first_responded_at=event.created_at)
    if public:
        appellant_email_enqueue(appeal=appeal, template="reply", message=text)
    return event


@transaction.atomic
def evidence_set_verified(*, evidence: Evidence, actor, verified: bool) -> Evidence:
    """The assignee or a supervisor marks one evidence file as checked (or withdraws that). Only a
    file that processing accepted and that is still kept can be marked verified."""
    evidence = Evidence.objects.select_for_update().select_related("appeal").get(pk=evidence.pk)
    appeal = evidence.appeal
    if not appeal.is_open:
        raise WorkflowError(_("The appeal is closed: its evidence can no longer change."))
    if not _holds(appeal, actor):
        raise WorkflowError(_("Only the agent handling this appeal or a supervisor can verify its evidence."))
    if verified == (evidence.verified_at is not None):
        return evidence
    if verified and evidence.purged_at is not None:
        raise WorkflowError(_("This file was deleted: it cannot be verified."))
    if verified and evidence.status == Evidence.Status.PENDING:
        raise WorkflowError(_("This file is still being processed: it can be verified once it is ready."))
    if verified and (evidence.status != Evidence.Status.READY or not evidence.file):
        raise WorkflowError(_("This file was refused by processing: it cannot be verified. The appellant must replace it."))
    evidence.verified_at = timezone.now() if verified else None
    evidence.verified_by = actor if verified else None
    evidence.save(update_fields=["verified_at", "verified_by"])
    evidence_verified_event(evidence=evidence, actor=actor, verified=verified)
    appeal_answer_seen(appeal=appeal, user=actor)
    return evidence


def appeal_answer_seen(*, appeal: Appeal, user) -> bool:
    """The assignee opened or acted on an appeal the appellant had answered: it no longer comes first
    in their queue. One guarded UPDATE; nothing for anyone else, or when there is nothing new."""
    if appeal.answered_at is None or appeal.assignee_id is None or appeal.assignee_id != user.pk:
        return False
    return bool(Appeal.objects.filter(pk=appeal.pk, assignee=user, answered_at__isnull=False).update(answered_at=None))

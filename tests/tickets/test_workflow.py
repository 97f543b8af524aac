"""The appeal workflow (SPEC §4): every transition, from every state, for every role."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone, translation

from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory, verify_required_evidence
from tickets.models import Appeal, AppealEvent, AppealState, OutboundEmail
from tickets.services import agent as agent_services
from tickets.services import scheduled
from tickets.services.agent import appeal_act
from tickets.services.appellant import appeal_provide_info, appeal_reopen, appeal_withdraw
from tickets.services.errors import AppealChanged, WorkflowError

ROLES = ("assignee", "other_agent", "supervisor", "outsider")

# action -> {source state: roles allowed}. Everything else must be refused.
ALLOWED = {
    "claim": {"submitted": {"assignee", "other_agent", "supervisor"}},
    "request_info": {"in_review": {"assignee", "supervisor"}},
    "propose_approval": {"in_review": {"assignee", "supervisor"}, "escalated": {"supervisor"}},
    "second_approve": {"pending_approval": {"supervisor"}},
    "send_back": {"pending_approval": {"supervisor"}},
    "approve": {"in_review": {"assignee", "supervisor"}, "escalated": {"supervisor"}},
    "reject": {"in_review": {"assignee", "supervisor"}, "escalated": {"supervisor"}},
    # Manual escalation: the assignee or a supervisor (a submitted appeal has no assignee yet).
    "escalate": {
        "submitted": {"supervisor"},
        "in_review": {"assignee", "supervisor"},
        "pending_approval": {"assignee", "supervisor"},
    },
    "resume": {"escalated": {"supervisor"}},
}
TARGET = {
    "claim": "in_review",
    "request_info": "awaiting_info",
    "propose_approval": "pending_approval",
    "second_approve": "approved",
    "send_back": "in_review",
    "approve": "approved",
    "reject": "rejected",
    "escalate": "escalated",
    "resume": "in_review",
}
CASES = [(action, state, role) for action in ALLOWED for state in AppealState.values for role in ROLES]


@pytest.fixture(autouse=True)
def english():
    """Messages are in the acting agent's language; these tests read them in English."""
    with translation.override("en"):
        yield


@pytest.fixture
def people(db):
    return {
        "assignee": AgentFactory(username="assignee"),
        "other_agent": AgentFactory(username="other_agent"),
        "supervisor": SupervisorFactory(username="supervisor"),
        "outsider": UserFactory(username="outsider"),
    }


def make_appeal(appeal_types, people, *, state: str, action: str) -> Appeal:
    # Approval needs a single-approval type; proposal and second approval a high-risk one.
    code = "access_card_unbind" if action == "approve" else "realname_unbind"
    appeal = AppealFactory(
        appeal_type=appeal_types[code],
        state=state,
        assignee=None if state == "submitted" else people["assignee"],
        proposed_by=people["assignee"] if state == "pending_approval" else None,
        closed_at=timezone.now() if state in ("approved", "rejected", "withdrawn", "closed") else None,
        sla_paused_at=timezone.now() if state == "awaiting_info" else None,
    )
    verify_required_evidence(appeal, by=people["assignee"])
    return appeal


@pytest.mark.parametrize(("action", "state", "role"), CASES, ids=[f"{a}-{s}-{r}" for a, s, r in CASES])
def test_transition_matrix(appeal_types, people, reason_codes, action, state, role):
    appeal = make_appeal(appeal_types, people, state=state, action=action)
    actor = people[role]
    allowed = role in ALLOWED[action].get(state, set())
    # The approvers have checked the code in the handheld photo (tests/tickets/test_fresh_photo_code.py).
    # A request names a file and its reason, a rejection its reason code (tickets/services/reasons.py).
    kwargs = {
        "comment": "Because the documents say so.",
        "assignee": people["other_agent"],
        "code_matches": True,
        "requested": [("", "id_back_blurred")],
        "reason_code": "holder_mismatch",
    }
    if allowed:
        result = appeal_act(appeal=appeal, actor=actor, action=action, expected_state=state, **kwargs)
        assert result.state == TARGET[action]
        event = AppealEvent.objects.get(appeal=appeal, kind=action)
        assert (event.actor, event.from_state, event.to_state) == (actor, state, TARGET[action])
    else:
        with pytest.raises(WorkflowError) as refused:
            appeal_act(appeal=appeal, actor=actor, action=action, expected_state=state, **kwargs)
        message = refused.value.message
        if state not in ALLOWED[action]:
            assert "is not possible while the appeal is" in message
        elif action == "second_approve" and role == "assignee":
            assert "You proposed this approval" in message  # the assignee made the proposal here
        elif action == "escalate" and role in ("assignee", "other_agent"):
            assert message == "Only the agent handling this appeal or a supervisor can escalate it."
        else:
            assert "You are not allowed to" in message
        appeal.refresh_from_db()
        assert appeal.state == state
        assert not AppealEvent.objects.filter(appeal=appeal, kind=action).exists()


def test_assigning_state_directly_raises(appeal_types):
    appeal = AppealFactory()
    with pytest.raises(AttributeError):
        appeal.state = "approved"
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def test_approval_needs_every_required_evidence_kind_verified(appeal_types, people):
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"], state="in_review", assignee=people["assignee"])
    EvidenceFactory(appeal=appeal, kind="id_front", verified_at=timezone.now())
    EvidenceFactory(appeal=appeal, kind="id_back")
    with pytest.raises(WorkflowError) as refused:
        agent_services.appeal_propose_approval(appeal=appeal, actor=people["assignee"])
    assert refused.value.message == (
        "It cannot be approved yet: ID card, back is not verified yet. Photo of you holding the ID card is missing."
    )
    appeal.refresh_from_db()
    assert appeal.state == "in_review"


def test_high_risk_cannot_be_approved_by_one_person(appeal_types, people):
    appeal = make_appeal(appeal_types, people, state="in_review", action="propose_approval")
    with pytest.raises(WorkflowError, match="high-risk appeal: propose the approval"):
        agent_services.appeal_approve(appeal=appeal, actor=people["supervisor"])


def test_a_proposer_cannot_give_the_second_approval(appeal_types, people):
    supervisor, other = people["supervisor"], SupervisorFactory(username="supervisor2")
    appeal = make_appeal(appeal_types, people, state="in_review", action="propose_approval")
    agent_services.appeal_propose_approval(appeal=appeal, actor=supervisor, code_matches=True)
    with pytest.raises(WorkflowError) as refused:
        agent_services.appeal_second_approve(appeal=appeal, actor=supervisor, code_matches=True)
    assert refused.value.message == "You proposed this approval: a different supervisor must give the second approval."
    appeal.refresh_from_db()
    assert appeal.state == "pending_approval"
    agent_services.appeal_second_approve(appeal=appeal, actor=other, comment="Unbind done; sign in again.", code_matches=True)
    appeal.refresh_from_db()
    assert appeal.state == "approved" and appeal.closed_at is not None
    assert OutboundEmail.objects.filter(appeal=appeal, template="approved").count() == 1


def test_reject_needs_a_reason_and_emails_it(appeal_types, people, reason_codes):
    appeal = make_appeal(appeal_types, people, state="in_review", action="reject")
    with pytest.raises(WorkflowError, match="Please fill in"):
        agent_services.appeal_reject(appeal=appeal, actor=people["assignee"], reason="  ", reason_code="holder_mismatch")
    agent_services.appeal_reject(
        appeal=appeal, actor=people["assignee"], reason="The ID photo is of another person.", reason_code="holder_mismatch"
    )
    appeal.refresh_from_db()
    assert (appeal.state, appeal.decision_reason) == ("rejected", "The ID photo is of another person.")
    email = OutboundEmail.objects.get(appeal=appeal, template="rejected")
    assert "The ID photo is of another person." in email.body_text
    assert "within 7 days" in email.body_text


def test_stale_action_is_told_the_appeal_changed(appeal_types, people):
    appeal = make_appeal(appeal_types, people, state="submitted", action="claim")
    agent_services.appeal_claim(appeal=appeal, actor=people["assignee"], expected_state="submitted")
    with pytest.raises(AppealChanged) as changed:
        agent_services.appeal_claim(appeal=appeal, actor=people["other_agent"], expected_state="submitted")
    assert "it is now “In review”" in changed.value.message
    appeal.refresh_from_db()
    assert appeal.assignee == people["assignee"]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_leave_exactly_one_approval(appeal_types):
    assignee, supervisor = AgentFactory(), SupervisorFactory()
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=assignee)
    verify_required_evidence(appeal, by=assignee)
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(actor):
        try:
            barrier.wait(timeout=10)
            agent_services.appeal_approve(appeal=Appeal.objects.get(pk=appeal.pk), actor=actor, expected_state="in_review")
            outcomes.append("approved")
        except WorkflowError as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in (assignee, supervisor)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("approved") == 1
    (loser,) = [o for o in outcomes if o != "approved"]
    assert isinstance(loser, AppealChanged)
    assert AppealEvent.objects.filter(appeal=appeal, kind="approve").count() == 1
    assert OutboundEmail.objects.filter(appeal=appeal, template="approved").count() == 1


def test_request_info_pauses_the_clock_and_provide_info_resumes_it(appeal_types, people, reason_codes):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        appeal = make_appeal(appeal_types, people, state="in_review", action="request_info")
        due = appeal.sla_due_at
        agent_services.appeal_request_info(
            appeal=appeal, actor=people["assignee"], message="Send a clearer ID photo.", requested=[("", "id_back_blurred")]
        )
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info" and appeal.sla_paused_at == start
    email = OutboundEmail.objects.get(appeal=appeal, template="request_info")
    assert "Send a clearer ID photo." in email.body_text

    with time_machine.travel(start + timedelta(hours=10), tick=False):
        appeal_provide_info(appeal=appeal, message="Here it is.", files=[])
    appeal.refresh_from_db()
    assert appeal.state == "in_review"  # it had an assignee
    assert appeal.sla_due_at == due + timedelta(hours=10)
    assert appeal.sla_paused_at is None
    assert AppealEvent.objects.get(appeal=appeal, kind="provide_info").comment == "Here it is."


def test_provide_info_returns_an_unassigned_appeal_to_the_queue(appeal_types):
    appeal = AppealFactory(state="awaiting_info", sla_paused_at=timezone.now())
    appeal_provide_info(appeal=appeal, message="Done.", files=[])
    appeal.refresh_from_db()
    assert appeal.state == "submitted"


def test_reopen_within_7_days_starts_a_new_cycle(appeal_types):
    rejected_at = timezone.now()
    appeal = AppealFactory(state="rejected", closed_at=rejected_at, decision_reason="Blurry photo.")
    with time_machine.travel(rejected_at + timedelta(days=6, hours=23), tick=False):
        appeal_reopen(appeal=appeal, message="A sharper photo.", files=[])
        now = timezone.now()
    appeal.refresh_from_db()
    assert appeal.state == "submitted" and appeal.closed_at is None and appeal.assignee is None
    assert appeal.sla_due_at == now + timedelta(hours=72)


@translation.override("en")
def test_reopen_after_7_days_is_refused(appeal_types):
    from tickets.services.errors import WorkflowError

    rejected_at = timezone.now()
    appeal = AppealFactory(state="rejected", closed_at=rejected_at)
    with time_machine.travel(rejected_at + timedelta(days=7, minutes=1)), pytest.raises(WorkflowError, match="nothing was sent"):
        appeal_reopen(appeal=appeal, message="Too late?", files=[])
    appeal.refresh_from_db()
    assert appeal.state == "rejected"


@pytest.mark.parametrize("state", ["approved", "rejected", "withdrawn", "closed"])
@translation.override("en")
def test_withdraw_is_refused_once_decided_or_closed(appeal_types, state):
    from tickets.services.errors import WorkflowError

    appeal = AppealFactory(state=state, closed_at=timezone.now())
    with pytest.raises(WorkflowError, match="can no longer be withdrawn"):
        appeal_withdraw(appeal=appeal)
    appeal.refresh_from_db()
    assert appeal.state == state


@pytest.mark.parametrize("state", ["submitted", "in_review", "awaiting_info", "pending_approval", "escalated"])
def test_withdraw_leaves_every_open_state(appeal_types, state):
    appeal = AppealFactory(state=state)
    assert appeal_withdraw(appeal=appeal).state == "withdrawn"


def test_abandon_closes_appeals_after_14_days_without_an_answer_once(appeal_types):
    asked = timezone.now()
    stale = AppealFactory(state="awaiting_info", sla_paused_at=asked)
    fresh = AppealFactory(state="awaiting_info", sla_paused_at=asked + timedelta(days=2))
    with time_machine.travel(asked + timedelta(days=14, minutes=1)):
        assert scheduled.appeal_abandon_stale() == [stale.reference]
        assert scheduled.appeal_abandon_stale() == []  # idempotent
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.state, fresh.state) == ("closed", "awaiting_info")
    assert OutboundEmail.objects.filter(appeal=stale, template="abandoned").count() == 1
    assert AppealEvent.objects.filter(appeal=stale, kind="abandon", actor_label="system").count() == 1


def test_resume_needs_an_agent(appeal_types, people):
    appeal = make_appeal(appeal_types, people, state="escalated", action="resume")
    with pytest.raises(WorkflowError, match="Choose the agent"):
        agent_services.appeal_resume(appeal=appeal, actor=people["supervisor"], assignee=people["outsider"])
    agent_services.appeal_resume(appeal=appeal, actor=people["supervisor"], assignee=people["other_agent"])
    appeal.refresh_from_db()
    assert (appeal.state, appeal.assignee) == ("in_review", people["other_agent"])


def test_supervisor_assigns_and_agent_cannot(appeal_types, people):
    appeal = AppealFactory()
    with pytest.raises(WorkflowError, match="Only supervisors"):
        agent_services.appeal_assign(appeal=appeal, actor=people["assignee"], assignee=people["other_agent"])
    agent_services.appeal_assign(appeal=appeal, actor=people["supervisor"], assignee=people["other_agent"])
    appeal.refresh_from_db()
    assert (appeal.state, appeal.assignee) == ("in_review", people["other_agent"])


def test_public_reply_is_emailed_and_internal_note_is_not(appeal_types, people):
    appeal = AppealFactory(state="in_review", assignee=people["assignee"])
    agent_services.appeal_comment(appeal=appeal, actor=people["assignee"], text="Checked the device log.", public=False)
    agent_services.appeal_comment(appeal=appeal, actor=people["assignee"], text="We are on it.", public=True)
    assert list(AppealEvent.objects.filter(appeal=appeal).values_list("kind", "public")) == [("note", False), ("reply", True)]
    assert list(OutboundEmail.objects.values_list("template", flat=True)) == ["reply"]


# --- Only evidence that exists counts: ready, kept, verified ---------------------------------------


def _refused(appeal, kind, **kwargs):
    return EvidenceFactory(appeal=appeal, kind=kind, status="rejected", file="", status_reason="Damaged.", **kwargs)


@pytest.mark.parametrize(
    ("status", "purged", "message"),
    [
        ("rejected", False, "This file was refused by processing: it cannot be verified. The appellant must replace it."),
        ("pending", False, "This file is still being processed: it can be verified once it is ready."),
        ("ready", True, "This file was deleted: it cannot be verified."),
    ],
)
def test_only_ready_evidence_can_be_verified(appeal_types, people, status, purged, message):
    appeal = AppealFactory(state="in_review", assignee=people["assignee"])
    item = EvidenceFactory(appeal=appeal, status=status, purged_at=timezone.now() if purged else None)
    with pytest.raises(WorkflowError) as refused:
        agent_services.evidence_set_verified(evidence=item, actor=people["assignee"], verified=True)
    assert refused.value.message == message
    item.refresh_from_db()
    assert item.verified_at is None
    assert not AppealEvent.objects.filter(appeal=appeal, kind="evidence_verified").exists()


def test_a_verification_on_refused_id_photos_does_not_count_for_a_high_risk_approval(appeal_types, people):
    """account_recovery: the ID front and back were refused by processing after someone had marked
    them verified; neither the proposal nor the second approval goes through."""
    appeal = AppealFactory(appeal_type=appeal_types["account_recovery"], state="in_review", assignee=people["assignee"])
    verify_required_evidence(appeal, by=people["assignee"])
    for item in appeal.evidence.filter(kind__in=["id_front", "id_back"]):
        item.status, item.file = "rejected", ""
        item.save()
    with pytest.raises(WorkflowError) as refused:
        agent_services.appeal_propose_approval(appeal=appeal, actor=people["supervisor"])
    assert refused.value.message == (
        "It cannot be approved yet: ID card, front: the file was refused, a replacement is needed. "
        "ID card, back: the file was refused, a replacement is needed."
    )
    appeal.refresh_from_db()
    assert appeal.state == "in_review"

    # Proposed while the files were still good, refused afterwards: no second approval either.
    pending = AppealFactory(
        appeal_type=appeal_types["account_recovery"],
        state="pending_approval",
        assignee=people["assignee"],
        proposed_by=people["assignee"],
    )
    verify_required_evidence(pending, by=people["assignee"])
    pending.evidence.filter(kind="id_back").update(status="rejected", file="")
    with pytest.raises(WorkflowError, match="ID card, back: the file was refused, a replacement is needed."):
        agent_services.appeal_second_approve(appeal=pending, actor=people["supervisor"])
    pending.refresh_from_db()
    assert pending.state == "pending_approval"


def test_the_approval_condition_names_what_is_missing(appeal_types, people):
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"], state="in_review", assignee=people["assignee"])
    _refused(appeal, "id_front", verified_at=timezone.now())
    EvidenceFactory(appeal=appeal, kind="id_back", status="pending")
    EvidenceFactory(appeal=appeal, kind="id_handheld")
    assert appeal.approval_blockers() == [
        "ID card, front: the file was refused, a replacement is needed.",
        "ID card, back is still being processed.",
        "Photo of you holding the ID card is not verified yet.",
    ]
    # A ready replacement, once verified, lifts the refusal.
    EvidenceFactory(appeal=appeal, kind="id_front", verified_at=timezone.now())
    assert appeal.approval_blockers()[0] == "ID card, back is still being processed."


# --- Who may act on an appeal they do not hold -----------------------------------------------------


def test_only_the_assignee_or_a_supervisor_verifies_evidence(appeal_types, people):
    appeal = AppealFactory(state="in_review", assignee=people["assignee"])
    item = EvidenceFactory(appeal=appeal)
    with pytest.raises(WorkflowError) as refused:
        agent_services.evidence_set_verified(evidence=item, actor=people["other_agent"], verified=True)
    assert refused.value.message == "Only the agent handling this appeal or a supervisor can verify its evidence."
    item.refresh_from_db()
    assert item.verified_at is None
    agent_services.evidence_set_verified(evidence=item, actor=people["assignee"], verified=True)
    agent_services.evidence_set_verified(evidence=item, actor=people["supervisor"], verified=False)
    assert list(AppealEvent.objects.filter(appeal=appeal).values_list("kind", "actor__username")) == [
        ("evidence_verified", "assignee"),
        ("evidence_unverified", "supervisor"),
    ]


def test_public_replies_only_by_the_assignee_or_a_supervisor_and_never_once_decided(appeal_types, people):
    appeal = AppealFactory(state="in_review", assignee=people["assignee"])
    with pytest.raises(WorkflowError) as refused:
        agent_services.appeal_comment(appeal=appeal, actor=people["other_agent"], text="Approved soon!", public=True)
    assert refused.value.message == "Only the agent handling this appeal or a supervisor can reply to the appellant."
    agent_services.appeal_comment(appeal=appeal, actor=people["other_agent"], text="Looked at the device log.", public=False)
    agent_services.appeal_comment(appeal=appeal, actor=people["supervisor"], text="We are on it.", public=True)

    decided = AppealFactory(state="approved", assignee=people["assignee"], closed_at=timezone.now())
    for actor in (people["assignee"], people["supervisor"]):
        with pytest.raises(WorkflowError) as refused:
            agent_services.appeal_comment(appeal=decided, actor=actor, text="One more thing.", public=True)
        assert refused.value.message == "This appeal is decided or closed: only internal notes can be added."
    agent_services.appeal_comment(appeal=decided, actor=people["other_agent"], text="Audit: checked.", public=False)
    assert list(OutboundEmail.objects.values_list("template", flat=True)) == ["reply"]
    assert list(AppealEvent.objects.filter(appeal=decided).values_list("kind", flat=True)) == ["note"]

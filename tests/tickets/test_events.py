"""The audit writers (`tickets/events.py`): what each writes, and that nothing else builds an event."""

import ast
from pathlib import Path

import pytest
from django.utils import timezone, translation

from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets import events
from tickets.models import AppealEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WRITES = {f"AppealEvent.objects.{name}" for name in ("create", "bulk_create", "get_or_create", "update_or_create")}


def _builds_events(path: Path) -> list[int]:
    """Lines where a module calls `AppealEvent(...)` or `AppealEvent.objects.create/bulk_create(...)`."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        called = ast.unparse(node.func)
        if called == "AppealEvent" or called in WRITES:
            lines.append(node.lineno)
    return lines


def test_only_the_writers_module_builds_audit_events():
    """STYLE.md §9. The seed generator's raw SQL of benchmark data is not an audit path (no call here)."""
    builders = {
        str(path.relative_to(ROOT)): found
        for package in ("tickets", "evidence")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and (found := _builds_events(path))
    }
    assert list(builders) == ["tickets/events.py"]


def fields(event, *names):
    return tuple(getattr(event, name) for name in names)


SHAPE = ("kind", "actor", "actor_label", "from_state", "to_state", "comment", "public")


def test_the_appellants_writers(appeal_types):
    event = events.appeal_submitted_event(appeal=AppealFactory())
    assert fields(event, *SHAPE) == ("submit", None, "appellant", "", "submitted", "", True)
    withdrawn = AppealFactory(state="withdrawn")  # each as its transition leaves it
    event = events.appeal_withdrawn_event(appeal=withdrawn, from_state="submitted", comment="Solved it myself.")
    assert fields(event, *SHAPE) == ("withdraw", None, "appellant", "submitted", "withdrawn", "Solved it myself.", True)
    answered = AppealFactory(state="in_review")
    event = events.appeal_info_provided_event(appeal=answered, from_state="awaiting_info", message="Attached.")
    assert fields(event, *SHAPE) == ("provide_info", None, "appellant", "awaiting_info", "in_review", "Attached.", True)
    reopened = AppealFactory()
    event = events.appeal_reopened_event(appeal=reopened, from_state="rejected", message="A sharper photo.")
    assert fields(event, *SHAPE) == ("reopen", None, "appellant", "rejected", "submitted", "A sharper photo.", True)
    event = events.appeal_tracking_link_event(appeal=reopened)
    assert fields(event, *SHAPE) == ("tracking_link", None, "appellant", "", "", "", False)
    assert AppealEvent.objects.count() == 5


def test_the_staff_and_system_writers(appeal_types):
    supervisor, agent = SupervisorFactory(), AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    event = events.appeal_action_event(
        appeal=appeal, actor=supervisor, action="claim", from_state="submitted", comment="Mine.", public=False
    )
    assert fields(event, *SHAPE) == ("claim", supervisor, "", "submitted", "in_review", "Mine.", False)
    event = events.appeal_action_event(appeal=appeal, actor=None, action="escalate", from_state="x", comment="", public=False)
    assert event.actor_label == "system"
    event = events.appeal_assigned_event(appeal=appeal, actor=supervisor, assignee=agent, from_state="submitted")
    assert fields(event, *SHAPE) == ("assign", supervisor, "", "submitted", "in_review", agent.username, False)
    closed = AppealFactory(state="closed")
    event = events.appeal_abandoned_event(appeal=closed, from_state="awaiting_info")
    assert fields(event, *SHAPE) == ("abandon", None, "system", "awaiting_info", "closed", "", True)


def test_the_sla_writer_inserts_all_escalations_at_once(appeal_types, django_assert_num_queries):
    first, second = AppealFactory(state="escalated"), AppealFactory(state="escalated")
    with translation.override("en"), django_assert_num_queries(1):
        written = events.sla_breach_escalated_events(escalated=[(first, "submitted"), (second, "in_review")])
    assert [fields(e, "appeal", "from_state", "to_state", "actor_label", "public") for e in written] == [
        (first, "submitted", "escalated", "system", False),
        (second, "in_review", "escalated", "system", False),
    ]
    assert {e.comment for e in AppealEvent.objects.filter(kind="escalate")} == {"SLA breached: escalated automatically."}
    with django_assert_num_queries(0):
        assert events.sla_breach_escalated_events(escalated=[]) == []


def test_the_evidence_writers(appeal_types):
    agent = AgentFactory()
    evidence = EvidenceFactory(appeal=AppealFactory(), kind="id_front")
    label = f"{evidence.get_kind_display()}: id_front.jpg"
    viewed = events.evidence_viewed_event(evidence=evidence, actor=agent)
    assert fields(viewed, "kind", "actor", "actor_label", "comment", "public") == ("evidence_viewed", agent, "", label, False)
    by_appellant = events.evidence_viewed_event(evidence=evidence, actor=None)
    assert (by_appellant.actor, by_appellant.actor_label) == (None, "appellant")
    evidence.purged_at = timezone.now()
    purged = events.evidence_purged_event(evidence=evidence)
    assert fields(purged, "kind", "actor", "actor_label", "comment", "public") == (
        "evidence_purged",
        None,
        "system",
        label,
        False,
    )

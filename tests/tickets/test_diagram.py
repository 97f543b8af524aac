"""The README's workflow diagram is the one the state machine generates."""

from pathlib import Path

from tickets.diagram import readme_block, workflow_mermaid


def test_readme_diagram_matches_the_state_machine():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme_block() in readme, "README's diagram is stale: run `manage.py workflow_diagram --write`"


def test_diagram_has_every_transition_of_the_spec():
    diagram = workflow_mermaid()
    for edge in (
        "submitted --> in_review: claim",
        "in_review --> awaiting_info: request_info",
        "awaiting_info --> in_review: provide_info",
        "awaiting_info --> submitted: provide_info",
        "in_review --> pending_approval: propose_approval",
        "pending_approval --> approved: second_approve",
        "pending_approval --> in_review: send_back",
        "in_review --> approved: approve",
        "in_review --> rejected: reject",
        "awaiting_info --> closed: abandon",
        "submitted --> escalated: escalate",
        "escalated --> in_review: resume",
        "rejected --> submitted: reopen",
        "submitted --> withdrawn: withdraw",
    ):
        assert edge in diagram

"""The code's shape (STYLE.md §10): no import cycle anywhere in our packages, and every Celery task name
that beat, the routes, the time limits and the services use resolves to a registered task. The
rooms' one-way dependencies are `lint-imports` contracts (pyproject.toml), run by `make lint`."""

import ast
from pathlib import Path

import grimp
import pytest
from django.conf import settings

from supportdesk.celery import app

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tickets", "evidence", "integrations", "supportdesk")


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each one an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_the_cycle_finder_finds_a_cycle_through_three_modules():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_ours_is_part_of_an_import_cycle():
    """grimp reads every import statement, also those inside functions (the usual way a cycle is
    hidden), so a cycle of any length between any two of our modules fails here."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert _cycles(edges) == []


def _registered() -> set[str]:
    app.loader.import_default_modules()
    return set(app.tasks)


def test_the_beat_schedule_resolves_every_task():
    registered = _registered()
    for entry, schedule in settings.CELERY_BEAT_SCHEDULE.items():
        assert schedule["task"] in registered, entry


def test_time_limits_and_routes_name_registered_tasks():
    registered = _registered()
    assert set(settings.CELERY_TASK_TIME_LIMITS) <= registered
    for pattern in settings.CELERY_TASK_ROUTES:
        prefix = pattern.rstrip("*")
        assert any(name.startswith(prefix) for name in registered), pattern


def _queued_task_names() -> set[str]:
    """Every `*_TASK = "…"` constant in our service modules: the names they queue by."""
    names = set()
    for path in [*ROOT.glob("tickets/**/*.py"), *ROOT.glob("evidence/**/*.py"), *ROOT.glob("integrations/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            constant = isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            if constant and any(isinstance(t, ast.Name) and t.id.endswith("_TASK") for t in node.targets):
                names.add(node.value.value)
    return names


def test_every_task_a_service_queues_by_name_is_registered():
    queued = _queued_task_names()
    assert {"tickets.tasks.email_deliver", "tickets.tasks.appeal_submitted", "evidence.tasks.evidence_process"} <= queued
    assert {"integrations.tasks.webhook_deliver", "integrations.tasks.webhook_deliver_pending"} <= queued
    assert queued <= _registered()


@pytest.mark.parametrize(
    "name",
    [
        "tickets.tasks.email_deliver",
        "tickets.tasks.outbox_deliver_pending",
        "tickets.tasks.sla_sweep",
        "tickets.tasks.appeals_abandon_stale",
        "tickets.tasks.appeal_tracking_link_send",
        "tickets.tasks.appeal_submitted",
        "evidence.tasks.evidence_process",
        "evidence.tasks.evidence_process_pending",
        "evidence.tasks.evidence_purge_expired",
        "evidence.tasks.evidence_orphans_sweep",
        "integrations.tasks.webhook_deliver",
        "integrations.tasks.webhook_deliver_pending",
    ],
)
def test_task_names_did_not_change_with_the_rooms(name):
    """Messages already queued, and the beat schedules of hosts not yet upgraded, carry these names."""
    assert name in _registered()


USER_INTERFACES = ("tickets/portal", "tickets/console")


def _reads_outside_selectors(source: str) -> list[str]:
    """`Model.objects…` and `get_object_or_404`/`get_list_or_404` in a module's code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append(f"line {node.lineno}: .objects")
        elif isinstance(node, ast.Name) and node.id in ("get_object_or_404", "get_list_or_404"):
            found.append(f"line {node.lineno}: {node.id}")
    return sorted(found, key=lambda line: int(line.split(":")[0].removeprefix("line ")))


def test_the_read_finder_finds_a_query_and_a_fetch_or_404():
    source = "def v(r):\n    Appeal.objects.filter(x=1)\n    return get_object_or_404(Appeal, pk=1)\n"
    assert _reads_outside_selectors(source) == ["line 2: .objects", "line 3: get_object_or_404"]


@pytest.mark.parametrize("room", USER_INTERFACES)
def test_user_interfaces_read_through_selectors(room):
    """STYLE.md §4-5: the portal's and the console's views and forms fetch through tickets/selectors.py
    (which checks access and answers 404) and the cached reference data, never by a query of their own."""
    found = {
        str(path.relative_to(ROOT)): reads
        for path in sorted((ROOT / room).glob("*.py"))
        if (reads := _reads_outside_selectors(path.read_text()))
    }
    assert found == {}

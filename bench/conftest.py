"""Benchmarks: each records its measurements; the run prints a table and writes bench/results.json."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

RESULTS: list[dict] = []
MACHINE: dict = {}


@pytest.fixture(autouse=True)
def vacuumed(django_db_setup):
    """Each benchmark starts on a vacuumed database, as autovacuum keeps a production one: the one
    before may have rolled back millions of rows, whose dead index entries a scan would still visit.
    VACUUM cannot run inside the test's transaction, so it runs on a connection of its own."""
    import psycopg

    if connection.vendor != "postgresql":
        return
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        host=db["HOST"],
        port=db["PORT"] or None,
        autocommit=True,
    ) as own:
        own.execute("VACUUM ANALYZE")


@pytest.fixture
def record(db):
    MACHINE.setdefault(
        "database", f"{connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}".strip()
    )

    def add(
        name: str, value: float, unit: str, target: float | None = None, note: str = "", higher_is_better: bool = False
    ) -> None:
        """`target` is an upper bound (a time, a cost), or a lower bound with `higher_is_better` (a rate)."""
        met = None if target is None else (value >= target if higher_is_better else value <= target)
        RESULTS.append(
            {
                "name": name,
                "value": round(value, 3),
                "unit": unit,
                "target": target,
                "met": met,
                "note": note,
                **({"higher_is_better": True} if higher_is_better else {}),
            }
        )

    return add


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    terminalreporter.section("benchmarks")
    terminalreporter.write_line(f"{'benchmark':<52} {'value':>12} {'target':>10}  met")
    for r in RESULTS:
        bound = "≥ " if r.get("higher_is_better") else ""
        target = "" if r["target"] is None else f"{bound}{r['target']:g} {r['unit']}"
        met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
        terminalreporter.write_line(f"{r['name']:<52} {r['value']:>9g} {r['unit']:<2} {target:>10}  {met}")
    machine = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        **MACHINE,
    }
    path = Path(__file__).resolve().parent / "results.json"
    # Merge by name, so running one benchmark file refreshes its figures and keeps the others.
    previous = json.loads(path.read_text(encoding="utf-8"))["results"] if path.exists() else []
    fresh = {r["name"] for r in RESULTS}
    merged = [r for r in previous if r["name"] not in fresh] + RESULTS
    path.write_text(json.dumps({"machine": machine, "results": merged}, indent=2) + "\n", encoding="utf-8")
    terminalreporter.write_line(f"written to {path}")

"""`make run` (scripts/run-dev): serves on the port asked for, and Ctrl-C stops everything, exit status 0."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import _redis_for, free_port

ROOT = Path(__file__).resolve().parent.parent


def _children_of(pid: int) -> dict[int, str]:
    """Every live descendant of `pid`: pid -> its start time (so a reused pid is not mistaken for it)."""
    parents, started = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        started[int(entry.name)] = fields[19]
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = started[child]
                todo.append(child)
    return found


def _still_running(processes: dict[int, str]) -> list[int]:
    alive = []
    for pid, start in processes.items():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[19] == start and fields[0] != "Z":
            alive.append(pid)
    return alive


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


@pytest.fixture
def broker_emptied_afterwards():
    """The demo data queues tasks for the SQLite database; none may reach a later test's worker."""
    yield
    _redis_for(settings.REDIS_URL).flushdb()


def test_ctrl_c_stops_web_workers_and_beat_and_exits_0_on_the_port_asked_for(tmp_path, broker_emptied_afterwards):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "EMAIL_", "SITE_URL"))}
    env.update(
        PORT=str(port),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=settings.REDIS_URL,
        REDIS_CACHE_URL=settings.REDIS_CACHE_URL,
        EVIDENCE_ROOT=str(tmp_path / "evidence"),
        DEV_MAIL_DIR=str(tmp_path / "mail"),
    )
    log = (tmp_path / "run-dev.log").open("w+b")
    run = subprocess.Popen(
        [str(ROOT / "scripts" / "run-dev")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 240
        health = None
        while time.monotonic() < deadline and run.poll() is None:
            health = _healthz(port)
            if health and health.get("celery") == "ok (2 workers)":
                break
            time.sleep(1)
        output = (tmp_path / "run-dev.log").read_text(errors="replace")
        assert health and health.get("celery") == "ok (2 workers)", output[-3000:]
        assert f"SupportDesk: http://127.0.0.1:{port}" in output
        assert f"demo logins (http://127.0.0.1:{port}/accounts/login/)" in output
        children = _children_of(run.pid)
        commands = " ".join(
            Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
            for pid in children
            if Path(f"/proc/{pid}/cmdline").exists()
        )
        for part in ("worker -Q celery", "worker -Q evidence", "beat", f"runserver 127.0.0.1:{port}"):
            assert part in commands

        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground process group
        status = run.wait(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            for pid in _children_of(run.pid):
                os.kill(pid, signal.SIGKILL)
        log.close()

    output = (tmp_path / "run-dev.log").read_text(errors="replace")
    assert status == 0, output[-3000:]
    assert "Error 143" not in output and "Traceback" not in output
    assert "SupportDesk stopped." in output
    deadline = time.monotonic() + 10
    while _still_running(children) and time.monotonic() < deadline:
        time.sleep(0.2)  # orphans re-parented to init are reaped by it
    assert _still_running(children) == []
    assert _healthz(port) is None  # nothing serves the port any more

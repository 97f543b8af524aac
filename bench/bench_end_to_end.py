"""Sustained appeals per second end to end, with the processes docs/deployment.md runs: gunicorn
(supportdesk/gunicorn_conf.py), the `worker` on the `celery` queue (e-mails) and the `evidence-worker`
on the `evidence` queue (two processes), on this machine, with PostgreSQL and Redis.

Clients offer appeals at a fixed rate (BENCH_RATE, default the 12/s target), each with three ~1 MB
photos of 3000×2000 px, for BENCH_SECONDS. An appeal counts when every one of its photos reached
`ready` inside the window; the rate is taken after the first seconds (the pipeline filling) and the
backlog left at the end says whether the worker kept up or the queue grew. CPU seconds per appeal are
read per process group (web, the two workers, PostgreSQL backends of this database, Redis) from /proc,
so they hold whatever else the machine was doing. The evidence worker's CPU is divided by the photos it
finished in the window and multiplied by three, so a worker that falls behind is not credited with
work left in its queue; the others' by the appeals submitted. The capacity the CPU allows is
cores ÷ CPU per appeal."""

import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count, Max, Q

from bench.bench_processing import ONE_MB, photo_like
from bench.bench_submission import APPEAL_URL, appeal_form
from bench.processes import CpuMeter, named, tree
from evidence.models import Evidence
from supportdesk.celery import app as celery_app
from tests.faults import subprocess_database_url, wait_until
from tests.servers import Gunicorn
from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed

ROOT = Path(__file__).resolve().parent.parent
RATE = float(os.environ.get("BENCH_RATE", "12"))
DURATION = float(os.environ.get("BENCH_SECONDS", "40"))
FILLING = min(8.0, DURATION / 4)  # the first seconds: photos submitted but not yet through the worker
CLIENTS = 8
TARGET = 12


class OfferedLoad:
    """Appeal n is due at start + n / RATE; CLIENTS threads take the next due appeal and post it. A
    client that is late posts at once (the web tier falling behind shows as a lower offered rate)."""

    def __init__(self, port: int, photos: list[bytes], start: float, stop: float):
        self.port, self.photos, self.start, self.stop = port, photos, start, stop
        self.lock = threading.Lock()
        self.next = 0
        self.submitted: list[str] = []
        self.failures: list[int] = []

    def _take(self) -> float | None:
        with self.lock:
            due = self.start + self.next / RATE
            self.next += 1
        return due if due < self.stop else None

    def client(self) -> None:
        connection, body, headers = appeal_form(self.port, self.photos)
        while (due := self._take()) is not None:
            time.sleep(max(0.0, due - time.monotonic()))
            connection.request("POST", APPEAL_URL, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 302:
                self.submitted.append(re.search(r"/submitted/([^/]+)/", response.getheader("Location")).group(1))
            else:
                self.failures.append(response.status)
        connection.close()

    def run(self) -> None:
        threads = [threading.Thread(target=self.client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION + 120)


def this_database_backends(processes) -> set[int]:
    """PostgreSQL backends serving this database (the machine's PostgreSQL serves other databases too)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {pid for (pid,) in cursor.fetchall()} & set(processes)


def completed(references: list[str], since: datetime, until: datetime) -> int:
    """Appeals of `references` whose every photo was ready, the last of them between since and until."""
    done = (
        Evidence.objects.filter(appeal__reference__in=references)
        .values("appeal")
        .annotate(total=Count("pk"), ready=Count("pk", filter=Q(status="ready")), last=Max("processed_at"))
    )
    return sum(1 for a in done if a["total"] == a["ready"] == 3 and since < a["last"] <= until)


def celery_worker(tmp_path, env, name: str, *options: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "supportdesk",
            "worker",
            *options,
            "-l",
            "info",
            "--without-mingle",
            "--without-gossip",
            "-n",
            f"{name}-{uuid.uuid4().hex[:8]}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_until(lambda: "ready." in log.read_text(), 60, f"the {name} to start")
    return worker, log


def tasks_done(log: Path, since: int = 0) -> Counter:
    """Tasks the worker reported done (succeeded) in its log after byte `since`."""
    return Counter(re.findall(r"Task [\w.]+\.(\w+)\[[^]]+\] succeeded", log.read_text()[since:]))


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_sustained_appeals_end_to_end(record, tmp_path):
    appeal_types_seed(AppealType)
    env = {
        **os.environ,
        "DATABASE_URL": subprocess_database_url(),
        "DATABASE_CONN_MAX_AGE": "60",
        "EVIDENCE_ROOT": str(tmp_path / "evidence"),
        "RATELIMIT_ENABLE": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
    }
    photos = [photo_like(seed, *ONE_MB) for seed in range(3)]
    with Gunicorn(tmp_path, **env) as web:
        port = web.port
        worker, worker_log = celery_worker(tmp_path, env, "worker", "-Q", "celery")
        evidence_worker, evidence_log = celery_worker(tmp_path, env, "evidence-worker", "-Q", "evidence", "--concurrency", "2")
        try:
            # Warm up: every process imports and connects before the clock starts.
            warm = OfferedLoad(port, photos, time.monotonic(), time.monotonic() + 2 / RATE)
            warm.run()
            wait_until(
                lambda: completed(warm.submitted, datetime.min.replace(tzinfo=UTC), datetime.now(UTC)) == len(warm.submitted),
                120,
                "the warm-up appeals to be processed",
            )
            meter = CpuMeter(
                {
                    "web": lambda processes: tree(web.process.pid, processes),
                    "worker": lambda processes: tree(worker.pid, processes),
                    "evidence-worker": lambda processes: tree(evidence_worker.pid, processes),
                    "postgresql": this_database_backends,
                    "redis": lambda processes: named("redis-server", processes=processes),
                }
            )
            logged = {worker_log: worker_log.stat().st_size, evidence_log: evidence_log.stat().st_size}
            meter.start()
            generator_cpu = time.process_time()
            started, start_wall = time.monotonic(), datetime.now(UTC)
            load = OfferedLoad(port, photos, started, started + DURATION)
            load.run()
            wait_until(
                lambda: time.monotonic() >= started + DURATION, DURATION + 5, "the end of the window"
            )  # clients may finish early
            end_wall = datetime.now(UTC)
            cpu = meter.stop()
            generator_cpu = time.process_time() - generator_cpu
            elapsed = time.monotonic() - started
            done = tasks_done(worker_log, logged[worker_log]) + tasks_done(evidence_log, logged[evidence_log])
            mine = Evidence.objects.filter(appeal__reference__in=load.submitted)
            pending = mine.filter(status="pending").count()
            photos_done = mine.filter(processed_at__gt=start_wall, processed_at__lte=end_wall).count()
        finally:
            for process in (worker, evidence_worker):
                stop(process)
            celery_app.control.purge()  # the backlog nobody will consume now
    assert load.failures == [] and load.submitted
    filled = start_wall + (end_wall - start_wall) * (FILLING / elapsed)
    sustained = completed(load.submitted, filled, end_wall) / (elapsed - FILLING)
    offered = len(load.submitted) / elapsed
    behind = len(load.submitted) - completed(load.submitted, start_wall, end_wall)
    appeals = len(load.submitted)
    size = sum(len(p) for p in photos) / 3 / 1e6
    note = (
        f"offered {offered:.1f}/s for {elapsed:.0f} s ({CLIENTS} clients), 3 photos of 3000×2000 px, {size:.1f} MB "
        f"each; processes as in docs/deployment.md; at the end {behind} appeals ({pending} photos) not yet processed"
    )
    record("end to end: sustained appeals per second", sustained, "/s", target=TARGET, note=note, higher_is_better=True)
    record("end to end: backlog at the end (appeals)", behind, "", note=f"after {elapsed:.0f} s at {offered:.1f}/s offered")
    per_appeal = {
        "web": cpu["web"] / appeals,
        "worker": cpu["worker"] / appeals,  # e-mails: it keeps up (see the tasks done)
        "evidence-worker": cpu["evidence-worker"] / max(photos_done, 1) * 3,  # three photos an appeal
        "postgresql": cpu["postgresql"] / appeals,
        "redis": cpu["redis"] / appeals,
    }
    tasks = ", ".join(f"{name} {count}" for name, count in done.most_common())
    for group, seconds in per_appeal.items():
        record(
            f"end to end: CPU per appeal, {group}",
            seconds * 1000,
            "ms",
            note=f"{cpu[group]:.1f} CPU-s in the window; {appeals} appeals submitted; tasks done: {tasks}",
        )
    total = sum(per_appeal.values())
    cores = os.cpu_count() or 1
    record(
        "end to end: CPU per appeal, all",
        total * 1000,
        "ms",
        note=f"load generator besides: {generator_cpu / appeals * 1000:.0f} ms per appeal",
    )
    record(
        "end to end: appeals per second the CPU allows",
        cores / total,
        "/s",
        target=TARGET,
        higher_is_better=True,
        note=f"{cores} cores ÷ CPU per appeal (web + workers + PostgreSQL + Redis), whatever else ran on the machine",
    )

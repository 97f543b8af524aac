"""Real services to break on purpose: a redis-server of our own, a Celery worker in a separate process
that can be SIGKILLed, an SMTP server that can hold a delivery mid-conversation."""

import asyncio
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

from tests.conftest import SmtpSink, free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_until(predicate, timeout: float = 30, what: str = "condition") -> None:
    """Wait for another process to get somewhere (polling; test time itself is never faked here)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class RedisServer:
    """A redis-server on a free port, which a test may stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        def answers():
            try:
                return redis.Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
            except redis.RedisError:
                return False

        wait_until(answers, 10, "redis-server to start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def celery_broker(url: str):
    """Point the Celery app (producers and new workers) at another broker for the duration."""
    from supportdesk.celery import app

    def reset():
        app._pool = None  # noqa: SLF001 - the app caches its connection and producer pools
        app.amqp._producer_pool = None  # noqa: SLF001

    saved = app.conf.broker_url
    app.conf.broker_url = url
    reset()
    try:
        yield app
    finally:
        app.conf.broker_url = saved
        reset()


def subprocess_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    """`celery -A supportdesk worker` in its own process, on the test database, killable."""

    def __init__(self, **env):
        self.env = {**os.environ, "DATABASE_URL": subprocess_database_url(), **env}
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []

    def start(self):
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "supportdesk",
                "worker",
                "--pool=solo",
                "-l",
                "info",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-n",
                f"killable-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for_line("ready.")
        return self

    def _read(self):
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for_line(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError("worker exited:\n" + "".join(self.log)) from None
                continue
            self.log.append(line)
            if text in line:
                return line
        raise AssertionError(f"worker never printed {text!r}:\n" + "".join(self.log))

    def kill(self):
        """SIGKILL: no cleanup, no acknowledgement, the database connection simply drops."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class HoldingSmtpSink(SmtpSink):
    """Holds every delivery at RCPT TO (before anything is accepted) while `holding` is set."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()
        self.held = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.held.set()
        while self.holding.is_set():
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"


@contextmanager
def smtp_server_at(port: int, handler=None):
    from aiosmtpd.controller import Controller

    handler = handler or SmtpSink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


class DataEndHoldingSmtpSink(SmtpSink):
    """Keeps each message at the end of DATA, then, while `holding` is set, holds the conversation
    before answering 250: the server has the message, the sender does not know it yet — the worst
    moment for a sender to die, as it is then no different from dying just after the 250."""

    def __init__(self):
        super().__init__()
        self.holding = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        while self.holding.is_set():
            await asyncio.sleep(0.05)
        return reply


class RefusingSmtpSink(SmtpSink):
    """Refuses every recipient the way Postfix does, echoing the address in its reply."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def database_connections_terminate() -> int:
    """pg_terminate_backend on every other connection to the test database (a worker's, here)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@contextmanager
def small_disk(path: Path, size: str = "2m"):
    """A real filesystem of `size` (tmpfs) mounted at `path`: writes past it fail with ENOSPC, as on a
    full evidence disk. Needs root (the test machines and CI run as root)."""
    import pytest

    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def disk_fill(path: Path, leave: int) -> None:
    """Fill the filesystem holding `path` until only about `leave` bytes are free."""
    free = os.statvfs(path).f_bavail * os.statvfs(path).f_frsize
    with open(path / "filler", "wb") as out:
        out.write(b"\0" * max(free - leave, 0))

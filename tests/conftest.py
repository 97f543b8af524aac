"""Shared test fixtures: private storage in a temp dir, a clean Redis, a real SMTP server, a real
Celery worker. Settings come from the environment (see the Makefile's `test` target)."""

import email
import email.policy
import os
import socket
import threading

import pytest
import redis
from django.conf import settings
from django.db import connection

from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.reason_codes import reason_codes_seed

# Playwright's sync API runs an event loop in the test thread; Django's ORM would refuse to run there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def evidence_root(settings, tmp_path):
    root = tmp_path / "evidence"
    root.mkdir()
    settings.EVIDENCE_ROOT = root
    return root


def _redis_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@pytest.fixture(autouse=True)
def clean_cache():
    """The cache (rate-limit counters) lives in the test run's own Redis database; empty it around each test."""
    client = _redis_for(settings.REDIS_CACHE_URL)
    client.flushdb()
    yield
    client.flushdb()


def second_factor_session(client, user) -> None:
    """Mark the client's session as signed in with a second factor (a confirmed authenticator app of
    `user`), as the two-factor step does (django_otp.login)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def one_recovery_code(user) -> str:
    """A fresh single-use recovery code for `user` (who gets an authenticator app too, so the sign-in
    goes to the second step rather than to the enrolment)."""
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes", defaults={"confirmed": True})
    return device.token_set.create(token=StaticToken.random_token()).token


@pytest.fixture(autouse=True)
def force_login_with_second_factor(request, monkeypatch):
    """`client.force_login` skips the password; for staff it skips the second factor too, so tests
    about other things sign in as a fully signed-in staff member. Tests of the two-factor step itself
    are marked `password_only` and get a session signed in with the password alone."""
    if request.node.get_closest_marker("password_only"):
        return
    from django.test.client import ClientMixin

    from supportdesk.two_factor.services import second_factor_required

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if second_factor_required(user):
            second_factor_session(self, user)

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


@pytest.fixture
def en_client(client):
    """The test client as a browser set to English (Accept-Language: en). A request can still ask for
    another language with its own HTTP_ACCEPT_LANGUAGE."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def celery_ping_cached(clean_cache):
    """/healthz pings the Celery workers, waiting a second for answers, and keeps the answer in the
    cache for 30 s: a test that is not about the ping starts with an answer kept, and pays nothing."""
    from django.core.cache import cache

    from supportdesk.health import CELERY_STATUS_KEY

    cache.set(CELERY_STATUS_KEY, "ok (1 worker)", 30)


@pytest.fixture(scope="session", autouse=True)
def _redis_databases_are_the_tests_own():
    """Refuse to run against a Redis database a real deployment may use, and clean up at the end."""
    for url in (settings.REDIS_URL, settings.REDIS_CACHE_URL):
        assert not url.rstrip("/").endswith(("/0", ":6379")), (
            f"tests must use their own Redis database index, not {url} (see the Makefile's test target)"
        )
    yield
    for url in {settings.REDIS_URL, settings.REDIS_CACHE_URL}:
        _redis_for(url).flushdb()


@pytest.fixture
def appeal_types(db):
    """The seeded appeal types (transactional tests flush the data migration's rows, so seed again)."""
    from tickets.models import AppealType

    appeal_types_seed(AppealType)
    return {t.code: t for t in AppealType.objects.all()}


@pytest.fixture
def reason_codes(db):
    """The seeded reason codes by code (seeded again after a transactional test's flush)."""
    from tickets.models import ReasonCode

    reason_codes_seed(ReasonCode)
    return {c.code: c for c in ReasonCode.objects.all()}


class BulkRows:
    """Rows too many to insert for every test (the scale and plan tests' 100,000 appeals): built once,
    committed, for the tests that ask for the same set one after another, and removed (TRUNCATE) before
    any other test runs, so no other test sees them. Each test still runs in its own transaction, rolled
    back, so what one test changes (a sweep) the next does not see. One set at a time."""

    def __init__(self):
        self.blocker = None
        self.owner = None  # the fixture whose rows are in the tables now
        self.fixtures: set[str] = set()  # every fixture that builds bulk rows
        self._kept: dict = {}

    @staticmethod
    def _tables() -> list:
        """The appeals table and every table that refers to it, directly or not: what the rows live in."""
        from tickets.models import Appeal

        models, pending = [], [Appeal]
        while pending:
            model = pending.pop()
            if model not in models:
                models.append(model)
                pending += [relation.related_model for relation in model._meta.related_objects]
        return models

    @staticmethod
    def _kept_rows() -> dict:
        """What the generator adds beside the appeals (its agents, their group, the appeal types after
        a transactional test's flush): the keys present before, to delete the others after."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from tickets.models import AppealType

        return {model: set(model._base_manager.values_list("pk", flat=True)) for model in (get_user_model(), Group, AppealType)}

    def build(self, request, make):
        """For a module- or class-scoped fixture: commit the rows `make()` inserts and return what it
        returns. The rows go when the next test does not use the fixture, or with the fixture."""
        from tickets.models import AppealType

        name = request.fixturename
        self.fixtures.add(name)
        self.drop()
        with self.blocker.unblock():
            filled = [model._meta.db_table for model in self._tables() if model._base_manager.exists()]
            assert not filled, f"bulk rows are removed with TRUNCATE: these tables must start empty: {filled}"
            self._kept = self._kept_rows()
            self.owner = name
            try:
                appeal_types_seed(AppealType)
                value = make()
            except BaseException:
                self.drop()
                raise
        request.addfinalizer(self.drop)
        return value

    def drop(self):
        if self.owner is None:
            return
        with self.blocker.unblock():
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in self._tables())
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {tables}")
            for model, keys in self._kept.items():
                model._base_manager.exclude(pk__in=keys).delete()
        self.owner = None


_bulk_rows = BulkRows()


@pytest.fixture(scope="session")
def bulk_rows(django_db_setup, django_db_blocker):
    _bulk_rows.blocker = django_db_blocker
    yield _bulk_rows
    _bulk_rows.drop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    yield
    stale = [name for name in _bulk_rows.fixtures & set(item.fixturenames) if name != _bulk_rows.owner]
    assert not stale, f"{stale}: their rows went when a test not using them ran; keep the tests that use them together"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if _bulk_rows.owner and (nextitem is None or _bulk_rows.owner not in nextitem.fixturenames):
        _bulk_rows.drop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self._arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int = 1, timeout: float = 30) -> list:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
        assert len(self.messages) >= count, f"expected {count} e-mail(s), got {len(self.messages)}"
        return self.messages


@pytest.fixture
def smtp_server(settings):
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


class FinishedTasks:
    """Names of the tasks the worker has finished, to wait on without sleeping."""

    def __init__(self):
        self.names: list[str] = []
        self._finished = threading.Condition()

    def record(self, sender=None, **kwargs):
        with self._finished:
            self.names.append(sender.name)
            self._finished.notify_all()

    def wait_for(self, name: str, count: int = 1, timeout: float = 30) -> None:
        with self._finished:
            self._finished.wait_for(lambda: self.names.count(name) >= count, timeout=timeout)
        assert self.names.count(name) >= count, f"{name} finished {self.names.count(name)} time(s), expected {count}"


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker (in a thread of this process) consuming the test run's Redis queues, the
    default one and the evidence one. It sees only committed data, hence the transactional database.
    `.finished.wait_for(name)` waits until a task has run to the end (its transaction committed)."""
    from celery.contrib.testing.worker import start_worker
    from celery.signals import task_postrun

    from supportdesk.celery import app

    finished = FinishedTasks()
    task_postrun.connect(finished.record, weak=False)
    app.control.purge()
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE, settings.EVIDENCE_QUEUE]
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING", queues=queues
    ) as worker:
        worker.finished = finished
        yield worker
    app.control.purge()
    task_postrun.disconnect(finished.record)

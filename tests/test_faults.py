"""Fault tests: real services killed on purpose. "Nothing lost", "at least once with a stable
Message-ID, twice only in the documented window" and "processing survives a crash" are each proven
here, not claimed."""

import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.faults import (
    DataEndHoldingSmtpSink,
    HoldingSmtpSink,
    RedisServer,
    RefusingSmtpSink,
    WorkerProcess,
    celery_broker,
    database_connections_terminate,
    smtp_server_at,
    wait_until,
)
from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal, OutboundEmail
from tickets.outbox.services import outbox_deliver, outbox_deliver_pending, outbox_enqueue

SUBMISSIONS = 5


def lease() -> timedelta:
    """How long a "sending" claim holds (the worker processes read the same setting)."""
    from django.conf import settings

    return timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS)


def smtp_settings(settings, port: int) -> None:
    """Send from this process through the SMTP server on `port`."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


@pytest.fixture
def own_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def references_in(messages) -> list[str]:
    return sorted(re.search(r"AP-\w{4}-\w{4}", m["Subject"]).group(0) for m in messages)


@pytest.mark.django_db(transaction=True)
def test_redis_down_during_submissions_loses_no_appeal_and_no_email(appeal_types, own_redis, smtp_server, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "1000/h"
    appeal_type = appeal_types["access_card_unbind"]
    with celery_broker(own_redis.url) as app:
        own_redis.stop()
        client = Client()
        for _ in range(SUBMISSIONS):
            response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
            assert response.status_code == 302  # saved, and the appellant sees no error
        assert Appeal.objects.count() == SUBMISSIONS
        assert OutboundEmail.objects.filter(status="pending").count() == SUBMISSIONS
        assert smtp_server.messages == []

        own_redis.start()
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
            from tickets.outbox.tasks import outbox_deliver_pending as sweep

            sweep.delay()  # what beat sends every OUTBOX_SWEEP_SECONDS
            smtp_server.wait_for(SUBMISSIONS)
            sweep.delay()
            sweep.delay()
            wait_until(lambda: not OutboundEmail.objects.exclude(status="sent").exists(), what="all e-mails sent")
    assert references_in(smtp_server.messages) == sorted(Appeal.objects.values_list("reference", flat=True))
    assert len(smtp_server.messages) == SUBMISSIONS  # exactly once each


@pytest.mark.django_db
def test_smtp_down_is_retried_with_backoff_and_delivered_once(appeal_types, settings):
    from tests.conftest import free_port

    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    email = outbox_enqueue(
        template="tracking_link",
        to="a@example.com",
        language="en",
        appeal=AppealFactory(),
        context={"tracking_url": "http://testserver/x/"},
    )
    start = timezone.now()
    for minutes, attempts in ((0, 1), (1, 2), (3, 3)):  # SMTP down: 1, 2, 4 minutes apart
        with time_machine.travel(start + timedelta(minutes=minutes, seconds=1), tick=False):
            assert outbox_deliver_pending() == 0
        email.refresh_from_db()
        assert email.attempts == attempts and email.status == "pending"
    assert email.next_attempt_at >= start + timedelta(minutes=7)

    with smtp_server_at(port) as sink:  # SMTP is back
        with time_machine.travel(start + timedelta(minutes=6), tick=False):
            assert outbox_deliver_pending() == 0  # not due yet: backoff is respected
        with time_machine.travel(start + timedelta(minutes=8), tick=False):
            assert outbox_deliver_pending() == 1
            assert outbox_deliver_pending() == 0
        assert len(sink.messages) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 4)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_before_smtp_accepted_is_sent_once_after_the_lease(appeal_types, settings):
    from tests.conftest import free_port
    from tickets.outbox.tasks import email_deliver

    port = free_port()
    holding = HoldingSmtpSink()
    holding.holding.set()
    with smtp_server_at(port, holding):
        email = outbox_enqueue(
            template="tracking_link",
            to="a@example.com",
            language="en",
            appeal=AppealFactory(),
            context={"tracking_url": "http://testserver/x/"},
        )
        worker = WorkerProcess(EMAIL_URL=f"smtp://127.0.0.1:{port}").start()
        try:
            email_deliver.delay(email.pk)
            assert holding.held.wait(timeout=60), "the worker never reached the SMTP server"
            worker.kill()  # SIGKILL mid-delivery, before the server accepted anything
        finally:
            worker.stop()
        holding.holding.clear()
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("sending", 1)  # the committed claim survives the worker
        assert holding.messages == []

        smtp_settings(settings, port)
        assert outbox_deliver_pending() == 0  # the claim's lease is live: nobody sends it yet
        with time_machine.travel(email.claimed_at + lease() + timedelta(seconds=1), tick=False):
            assert outbox_deliver_pending() == 1  # the beat sweep takes it again after the lease
            assert outbox_deliver(email_id=email.pk) is False  # and the redelivered task message is a no-op
        holding.wait_for(1)
    assert len(holding.messages) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_evidence_processing_survives_a_worker_killed_mid_task(appeal_types, evidence_root):
    from evidence.tasks import evidence_process

    big = files.photo_bytes(7000, 5000, seed=3, exif_gps=True)  # 35 megapixels: seconds of work
    evidence = EvidenceFactory(appeal=AppealFactory(), status="pending", content=big)
    original = Path(evidence.file.path)
    worker = WorkerProcess(EVIDENCE_ROOT=str(evidence_root)).start()
    try:
        evidence_process.delay(str(evidence.pk))
        worker.wait_for_line("evidence.tasks.evidence_process")  # received: it is working on it now
        wait_until(
            lambda: any(p.name.endswith(".partial") or ".clean." in p.name for p in Path(evidence_root).rglob("*")),
            60,
            "the worker to start writing",
        )
        worker.kill()
    finally:
        worker.stop()
    evidence.refresh_from_db()
    assert evidence.status == "pending"  # the transaction died with the worker

    # The recovery path: the message is redelivered (acks_late) or the beat sweep finds it pending.
    from evidence.processing import evidence_process as process_now

    process_now(evidence_id=evidence.pk)
    evidence.refresh_from_db()
    assert evidence.status == "ready"
    on_disk = sorted(p.name for p in Path(evidence_root).rglob("*") if p.is_file())
    assert on_disk == sorted([Path(evidence.file.name).name, Path(evidence.thumbnail.name).name])  # no duplicates, no leftovers
    assert not original.exists()
    assert Evidence.objects.count() == 1


@contextmanager
def worker_held_once_smtp_has_the_message():
    """A worker process delivering one e-mail through a server that has taken the whole message and
    holds its 250: the e-mail is delivered, and the worker has not recorded it. Yields
    (sink, email, worker, port); the hold is released by clearing `sink.holding`."""
    from tests.conftest import free_port
    from tickets.outbox.tasks import email_deliver

    port = free_port()
    sink = DataEndHoldingSmtpSink()
    sink.holding.set()
    with smtp_server_at(port, sink):
        email = outbox_enqueue(
            template="tracking_link",
            to="a@example.com",
            language="en",
            appeal=AppealFactory(),
            context={"tracking_url": "http://testserver/x/"},
        )
        worker = WorkerProcess(EMAIL_URL=f"smtp://127.0.0.1:{port}").start()
        try:
            email_deliver.delay(email.pk)
            sink.wait_for(1, timeout=60)
            yield sink, email, worker, port
        finally:
            sink.holding.clear()
            worker.stop()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_once_smtp_has_the_message_is_resent_once_only_after_the_lease(appeal_types, settings):
    with worker_held_once_smtp_has_the_message() as (sink, email, worker, port):
        worker.kill()  # the message is delivered, its result not recorded: the one window left
        sink.holding.clear()
        email.refresh_from_db()
        assert (email.status, email.attempts) == ("sending", 1)  # the committed claim

        smtp_settings(settings, port)
        assert outbox_deliver_pending() == 0  # the lease is live: no resend
        with time_machine.travel(email.claimed_at + lease() - timedelta(seconds=1), tick=False):
            assert outbox_deliver_pending() == 0
        with time_machine.travel(email.claimed_at + lease() + timedelta(seconds=1), tick=False):
            assert outbox_deliver_pending() == 1  # at least once: the dead worker's send is not trusted
            assert outbox_deliver_pending() == 0
        sink.wait_for(2)
    # The documented bound: one extra copy per worker death in that window, with the same Message-ID,
    # so the recipient's mail system can recognise it as the same message.
    assert len(sink.messages) == 2
    assert {m["Message-ID"] for m in sink.messages} == {email.message_id}
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_database_connection_lost_once_smtp_has_the_message_sends_once(appeal_types, settings):
    with worker_held_once_smtp_has_the_message() as (sink, email, worker, port):
        assert database_connections_terminate() >= 1  # the worker's connection, idle during SMTP
        sink.holding.clear()  # the worker hears 250 and records it: on a new connection
        worker.wait_for_line("retrying on a new connection")
        wait_until(lambda: OutboundEmail.objects.get(pk=email.pk).status == "sent", what="the result recorded")
        smtp_settings(settings, port)
        with time_machine.travel(timezone.now() + lease() + timedelta(minutes=1), tick=False):
            assert outbox_deliver_pending() == 0
    assert len(sink.messages) == 1
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 1)


@pytest.mark.django_db(transaction=True)
def test_refused_recipient_is_logged_by_the_worker_without_the_address(appeal_types):
    from tests.conftest import free_port
    from tickets.outbox.tasks import email_deliver

    port = free_port()
    address = "refused.person@example.com"
    with smtp_server_at(port, RefusingSmtpSink()):
        email = outbox_enqueue(
            template="tracking_link",
            to=address,
            language="en",
            appeal=AppealFactory(),
            context={"tracking_url": "http://testserver/x/"},
        )
        worker = WorkerProcess(EMAIL_URL=f"smtp://127.0.0.1:{port}").start()
        try:
            email_deliver.delay(email.pk)
            line = worker.wait_for_line("not delivered")
            worker.wait_for_line("succeeded")
        finally:
            worker.stop()
    assert f"e-mail {email.pk} " in line and "SMTPRecipientsRefused: 550" in line
    assert address not in "".join(worker.log)
    email.refresh_from_db()
    assert address not in email.last_error

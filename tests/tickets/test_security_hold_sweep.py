"""The release sweep (tickets/services/hold.py `release_sweep`): when a security hold ends with no
objection the approval is released to the platform, exactly once, however often, however many at
once, and even when the worker releasing it is killed mid-batch. Also from beat, by a real worker."""

import subprocess
import sys
import threading
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import Integration, IntegrationEvent, WebhookDelivery, WebhookSubscription
from tests.concurrency import at_once
from tests.faults import ROOT, WorkerProcess, wait_until
from tests.tickets import test_security_hold
from tests.tickets.factories import AppealFactory
from tests.tickets.test_security_hold import OWNER, approve, filed
from tickets.models import Appeal, AppealEvent
from tickets.services.hold import release_sweep
from tickets.tracking import tracking_token_make

HOURS = timedelta(hours=1)
english, staff = test_security_hold.english, test_security_hold.staff  # the same fixtures


def held_at(appeal_types, staff, at, **kwargs) -> Appeal:
    """A realname unbind approved by two people (the code confirmed) at `at`: held from then."""
    appeal = approve(filed(appeal_types, staff, **kwargs), staff, at=at)
    assert appeal.fulfilment == "held"
    return appeal


def sweep_at(moment) -> list[str]:
    with time_machine.travel(moment, tick=False):
        return release_sweep()


def releases() -> list[str]:
    """The reference of every appeal each time it was released: an audit event and an `appeal.released`."""
    events = sorted(AppealEvent.objects.filter(kind="release").values_list("appeal__reference", flat=True))
    published = sorted(IntegrationEvent.objects.filter(type="appeal.released").values_list("appeal__reference", flat=True))
    assert events == published
    return events


# Due, once.


@pytest.mark.django_db
def test_the_sweep_releases_exactly_the_due_appeals_once(appeal_types, staff, en_client):
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=10)
    first = held_at(appeal_types, staff, t0)
    long = held_at(appeal_types, staff, t0, risk_score=settings.SECURITY_HOLD_LONG_SCORE)
    later = held_at(appeal_types, staff, t0 + HOURS)
    ends = t0 + timedelta(hours=settings.SECURITY_HOLD_HOURS)

    assert sweep_at(ends - timedelta(seconds=1)) == []
    assert sweep_at(ends) == [first.reference]
    assert sweep_at(ends) == []  # twice: nothing more
    assert sweep_at(ends + HOURS) == [later.reference]
    assert sweep_at(t0 + timedelta(hours=settings.SECURITY_HOLD_LONG_HOURS)) == [long.reference]
    assert sweep_at(t0 + timedelta(days=9)) == []
    assert releases() == sorted([first.reference, long.reference, later.reference])

    first.refresh_from_db()
    assert (first.state, first.fulfilment, first.fulfilment_release, first.released_at) == ("approved", "released", 1, ends)
    event = first.events.get(kind="release")
    assert (event.public, event.actor_label, event.comment) == (False, "system", "The security hold ended with no objection.")
    released = IntegrationEvent.objects.get(appeal=first, type="appeal.released")
    assert released.data["fulfilment"] == "released" and released.data["hold_until"] is None
    assert list(IntegrationEvent.objects.filter(appeal=first).order_by("pk").values_list("type", flat=True)) == [
        "appeal.decided",
        "appeal.held",
        "appeal.released",
    ]
    page = en_client.get(reverse("tickets:status", args=[tracking_token_make(first.reference)])).content.decode()
    assert 'data-fulfilment="released"' in page and "passed to the platform to carry out" in page


@pytest.mark.django_db
def test_the_sweep_leaves_a_stopped_hold_and_other_appeals_alone(appeal_types, staff):
    from tickets.models import HoldNotice
    from tickets.services.hold import hold_objection_record

    t0 = timezone.now().replace(microsecond=0) - timedelta(days=10)
    stopped = held_at(appeal_types, staff, t0)
    hold_objection_record(notice=HoldNotice.objects.get(appeal=stopped, value=OWNER))
    AppealFactory(appeal_type=appeal_types["realname_unbind"], state="approved")  # never approved through the services
    assert sweep_at(t0 + timedelta(days=5)) == []
    assert releases() == []
    assert Appeal.objects.get(pk=stopped.pk).fulfilment == "not_released"


@pytest.mark.django_db
def test_the_platform_hears_each_release_once_by_webhook(appeal_types, staff):
    platform = Integration.objects.create(name="Wallet")
    subscription = WebhookSubscription.objects.create(
        integration=platform, url="https://platform.example/hooks", event_types=["appeal.released", "appeal.held"]
    )
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=10)
    appeals = [held_at(appeal_types, staff, t0, integration=platform) for _ in range(3)]
    assert WebhookDelivery.objects.filter(subscription=subscription, event__type="appeal.released").count() == 0
    sweep_at(t0 + timedelta(days=5))
    sweep_at(t0 + timedelta(days=6))
    deliveries = WebhookDelivery.objects.filter(subscription=subscription, event__type="appeal.released")
    assert sorted(deliveries.values_list("event__appeal_id", flat=True)) == sorted(a.pk for a in appeals)


@pytest.mark.django_db
def test_the_sweep_reads_only_the_due_holds_from_their_partial_index(appeal_types, staff):
    from tickets.services.hold import BATCH, TAKEN_FIELDS

    held_at(appeal_types, staff, timezone.now() - timedelta(days=2))
    AppealFactory(state="in_review")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a table this small would be read whole otherwise
    taken = Appeal.objects.due_for_release(timezone.now()).select_for_update(skip_locked=True, of=("self",))
    plan = taken.only(*TAKEN_FIELDS)[:BATCH].explain()
    assert "appeal_hold_due" in plan, plan


@pytest.mark.django_db
def test_the_sweeps_queries_do_not_grow_with_the_batch(appeal_types, staff, django_assert_max_num_queries):
    platform = Integration.objects.create(name="Wallet")
    WebhookSubscription.objects.create(
        integration=platform, url="https://platform.example/hooks", event_types=["appeal.released"]
    )
    t0 = timezone.now().replace(microsecond=0) - timedelta(days=10)
    held_at(appeal_types, staff, t0, integration=platform)
    with CaptureQueriesContext(connection) as one:
        assert len(sweep_at(t0 + timedelta(days=1))) == 1
    # The batch's savepoint, its locking read, UPDATE, audit INSERT, the events' read and INSERT, the
    # subscriptions' read, the deliveries' INSERT, the savepoint's release.
    assert len(one) <= 9, [q["sql"] for q in one.captured_queries]
    for _ in range(40):
        held_at(appeal_types, staff, t0 + timedelta(days=1), integration=platform)
    with django_assert_max_num_queries(len(one)):
        assert len(sweep_at(t0 + timedelta(days=3))) == 40
    assert WebhookDelivery.objects.filter(event__type="appeal.released").count() == 41


# At once.


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("due_count", [1, 30])
def test_two_sweeps_at_once_release_each_appeal_once(appeal_types, staff, due_count):
    t0 = timezone.now() - timedelta(days=5)
    appeals = [held_at(appeal_types, staff, t0) for _ in range(due_count)]
    results = at_once(release_sweep)
    assert len(results) == 2
    assert sorted(r for result in results for r in result) == sorted(a.reference for a in appeals)
    assert releases() == sorted(a.reference for a in appeals)
    assert Appeal.objects.filter(fulfilment="released", fulfilment_release=1).count() == due_count


@pytest.mark.django_db(transaction=True)
def test_an_objection_and_the_sweep_at_once_either_stop_or_release_never_both(appeal_types, staff):
    """At the hold's end the owner's click and the sweep race: each locks the row, the other then finds
    it stopped (the sweep releases nothing) or released (the link says the hold ended)."""
    from tickets.models import HoldNotice
    from tickets.services.hold import hold_objection_record

    appeal = held_at(appeal_types, staff, timezone.now() - timedelta(days=5))
    notice = HoldNotice.objects.get(appeal=appeal, value=OWNER)
    jobs = iter([release_sweep, lambda: hold_objection_record(notice=notice).outcome])
    lock = threading.Lock()

    def work():
        with lock:
            job = next(jobs)
        return job()

    results = at_once(work)
    assert len(results) == 2
    [released] = [r for r in results if isinstance(r, list)]
    [outcome] = [r for r in results if isinstance(r, str)]
    appeal.refresh_from_db()
    types = list(IntegrationEvent.objects.filter(appeal=appeal).values_list("type", flat=True))
    if outcome == "stopped":
        assert (released, appeal.fulfilment, appeal.state) == ([], "not_released", "escalated")
        assert releases() == [] and types.count("appeal.hold_objected") == 1
    else:
        assert (outcome, released, appeal.fulfilment, appeal.state) == ("ended", [appeal.reference], "released", "approved")
        assert releases() == [appeal.reference] and "appeal.hold_objected" not in types
        assert not appeal.takeover_suspected and not AppealEvent.objects.filter(kind="hold_objection").exists()


# A worker killed mid-release.

# The sweep in a process of its own, on the test database: it stops inside its batch's transaction,
# after its UPDATE and its audit events, holding the rows' locks, and says so; then it waits on its
# standard input, which the test never writes to: it kills the process there.
PAUSED_SWEEP = """
import sys

import django

django.setup()
from django.db import connection

from tickets.services import hold

written = hold.appeal_released_events


def paused(*, appeals):
    events = written(appeals=appeals)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print("paused", cursor.fetchone()[0], len(appeals), flush=True)
    sys.stdin.readline()
    return events


hold.appeal_released_events = paused
print("finished", hold.release_sweep(), flush=True)
"""


class PausedSweep(WorkerProcess):
    """The script above instead of a Celery worker: the same output reader, SIGKILL and clean-up."""

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-c", PAUSED_SWEEP],
            cwd=ROOT,
            env={**self.env, "DJANGO_SETTINGS_MODULE": "supportdesk.settings"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        return self


def backend_alive(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_release_commits_nothing_and_the_next_sweep_releases_each_once(appeal_types, staff):
    t0 = timezone.now() - timedelta(days=5)
    appeals = [held_at(appeal_types, staff, t0) for _ in range(5)]
    sweep = PausedSweep().start()
    try:
        _, pid, count = sweep.wait_for_line("paused ").split()
        pid, count = int(pid), int(count)
        assert count == len(appeals)  # it has written its UPDATE and events, uncommitted, and holds the rows
        assert release_sweep() == []  # another sweep skips the locked rows
        assert Appeal.objects.filter(fulfilment="held").count() == len(appeals)
        sweep.kill()
    finally:
        sweep.stop()
    wait_until(lambda: not backend_alive(pid), what="the killed sweep's connection to end")
    assert Appeal.objects.filter(fulfilment="held").count() == len(appeals)  # its transaction died with it
    assert releases() == []

    assert sorted(release_sweep()) == sorted(a.reference for a in appeals)
    assert release_sweep() == []
    assert releases() == sorted(a.reference for a in appeals)
    assert Appeal.objects.filter(fulfilment="released", fulfilment_release=1).count() == len(appeals)


# From beat, by a worker.


def test_beat_runs_the_release_sweep_with_limits():
    from tickets.services.hold import BATCH, MAX_BATCHES

    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "tickets.tasks.release_sweep"]
    assert [e["schedule"] for e in entries] == [settings.SLA_SWEEP_SECONDS]
    assert "tickets.tasks.release_sweep" in settings.CELERY_TASK_TIME_LIMITS
    assert BATCH * MAX_BATCHES >= 1000  # a day's due holds fit in one run


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_running_the_task_releases_the_due_appeals(appeal_types, staff, celery_worker):
    from supportdesk.celery import app

    due = held_at(appeal_types, staff, timezone.now() - timedelta(days=5))
    not_due = held_at(appeal_types, staff, timezone.now())
    app.send_task("tickets.tasks.release_sweep")  # as beat sends it: by name
    celery_worker.finished.wait_for("tickets.tasks.release_sweep")
    assert releases() == [due.reference]
    assert Appeal.objects.get(pk=not_due.pk).fulfilment == "held"

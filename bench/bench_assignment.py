"""Automatic assignment (tickets/assignment/) at scale: 1,000 arrivals among 20 agents on duty.

- One sweep assigning 1,000 waiting appeals (two batches of 500 under the assignment lock).
- The same 1,000 arriving one by one (each its own run, as the submission's follow-up does).
- An idle sweep (nothing waiting) beside 100,000 open appeals held by the agents.

Each runs inside the test's transaction, rolled back at the end."""

import statistics
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import override_settings
from django.utils import timezone

from tickets.assignment.services import assignment_run, assignment_sweep
from tickets.models import AgentProfile, Appeal, AppealState, AppealType
from tickets.seed.appeal_types import appeal_types_seed

AGENTS, CAPACITY, ARRIVALS, HELD = 20, 60, 1000, 100_000


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return (time.perf_counter() - start) * 1000, result


def _agents() -> list:
    group = Group.objects.get_or_create(name="agents")[0]
    users = get_user_model().objects.bulk_create(get_user_model()(username=f"bench_agent{n}") for n in range(AGENTS))
    group.user_set.add(*users)
    AgentProfile.objects.bulk_create(AgentProfile(user=user, capacity=CAPACITY) for user in users)
    return users


def _appeals(count: int, *, now, assignees=None) -> list[Appeal]:
    types = list(AppealType.objects.all())
    rows = []
    for n in range(count):
        appeal = Appeal(
            appeal_type=types[n % len(types)],
            contact_email=f"bench{n}@example.com",
            language="zh-hans" if n % 3 else "en",
            sla_due_at=now + timedelta(hours=1 + n % 72),
            sla_warn_at=now + timedelta(minutes=45 + n % 72),
        )
        if assignees:
            appeal.assignee = assignees[n % len(assignees)]
            appeal.__dict__["state"] = AppealState.IN_REVIEW  # FSMField(protected=True): the row as a claim leaves it
        rows.append(appeal)
    return Appeal.objects.bulk_create(rows, batch_size=5000)


@override_settings(ASSIGNMENT_AUTOMATIC=True, ASSIGNMENT_STRATEGY="least_loaded")
def test_assignment_of_1000_arrivals(record):
    appeal_types_seed(AppealType)
    now = timezone.now()
    agents = _agents()
    # 100,000 open appeals held by other agents (off duty: their load is not counted).
    others = get_user_model().objects.bulk_create(get_user_model()(username=f"bench_other{n}") for n in range(50))
    _appeals(HELD, now=now, assignees=others)

    _appeals(ARRIVALS, now=now)
    elapsed, assigned = timed(assignment_sweep)
    assert len(assigned) == ARRIVALS
    record("assignment: sweep, 1,000 waiting → 20 agents", elapsed, "ms", target=1000, note="least loaded, 2 batches")

    Appeal.objects.filter(assignee__in=agents).delete()
    arrivals = [appeal.pk for appeal in _appeals(ARRIVALS, now=now)]
    each = []
    started = time.perf_counter()
    for pk in arrivals:
        ms, done = timed(lambda pk=pk: assignment_run(appeal_ids=[pk]))
        assert len(done) == 1
        each.append(ms)
    total = (time.perf_counter() - started) * 1000
    record("assignment: 1,000 arrivals one by one (total)", total, "ms", note=f"median {statistics.median(each):.2f} ms each")
    record("assignment: one arrival, p95", sorted(each)[int(len(each) * 0.95)], "ms", target=50)

    idle = [timed(assignment_sweep)[0] for _ in range(20)]
    record("assignment: sweep, nothing waiting (median)", statistics.median(idle), "ms", target=20)
    counts = {agent.pk: Appeal.objects.filter(assignee=agent).count() for agent in agents}
    assert max(counts.values()) - min(counts.values()) <= 1  # least loaded: even

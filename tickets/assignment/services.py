"""Automatic assignment (issue 18, item 2): a waiting appeal (submitted and unassigned) goes to an agent
on duty with room under their capacity and the skills for it (its type, its appellant's language), by
the configured strategy: least loaded or round robin. It runs on arrival (the submission's follow-up in
the worker), when capacity frees up (an appeal decided, withdrawn, closed or handed to someone else, an
agent back on duty), and from a beat sweep that assigns whatever still waits.

Safety under races: every assignment decision runs in a transaction that first takes one PostgreSQL
advisory lock (`ASSIGNMENT_LOCK`), then counts each agent's open appeals and takes the waiting appeals
with `FOR UPDATE SKIP LOCKED`. Two arrivals or two sweeps at once therefore decide one after the other,
each on the other's committed result: no capacity is exceeded and no appeal is assigned twice. The
lock is held for one batch (at most ASSIGNMENT_BATCH appeals), so the sweep commits as it goes.

What is not assigned automatically: an appeal suspected of a takeover (a registered contact stopped its
release; supervisors decide who looks at it), and anything while ASSIGNMENT_AUTOMATIC is off. A high-risk
type is assigned like any other: the two-person rule applies when it is approved, not when it is taken.
Capacity bounds automatic assignment only: an agent may still claim, and a supervisor still assign by
hand (an override, recorded as such)."""

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from supportdesk.queueing import delay_on_commit
from tickets.events import appeal_auto_assigned_events
from tickets.models import AgentProfile, Appeal, AppealState, AssignmentStrategy
from tickets.roles import AGENTS, SUPERVISORS

RUN_TASK = "tickets.tasks.assignment_run"  # tasks.py
ASSIGNMENT_BATCH = 500
# pg_advisory_xact_lock's key for assignment decisions: a constant of this application's own ("SDASSIGN").
ASSIGNMENT_LOCK = int.from_bytes(b"SDASSIGN", "big") - (1 << 63)


@dataclass
class _Agent:
    """An agent who may be assigned appeals now, with what they hold (updated as the batch assigns)."""

    user_id: int
    username: str
    capacity: int
    load: int
    last_turn: int
    types: frozenset[int]  # empty: every type
    languages: frozenset[str]  # empty: every language

    def takes(self, appeal: Appeal) -> bool:
        return (
            self.load < self.capacity
            and (not self.types or appeal.appeal_type_id in self.types)
            and (not self.languages or appeal.language in self.languages)
        )


def _lock() -> None:
    if connection.vendor != "postgresql":  # development on SQLite: one writer at a time anyway
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ASSIGNMENT_LOCK])


def _agents(agent_ids=None) -> list[_Agent]:
    """The agents on duty with a capacity, still active and still agents or supervisors, with their load:
    the open appeals they hold (one grouped count over the `appeal_assignee_due` index)."""
    staff = (
        get_user_model().objects.filter(is_active=True).filter(Q(is_superuser=True) | Q(groups__name__in=[AGENTS, SUPERVISORS]))
    )
    profiles = AgentProfile.objects.filter(on_duty=True, capacity__gt=0, user__in=staff.values("pk")).select_related("user")
    if agent_ids is not None:
        profiles = profiles.filter(user_id__in=list(agent_ids))
    profiles = list(profiles.prefetch_related("appeal_types"))
    if not profiles:
        return []
    loads = dict(
        Appeal.objects.open()
        .filter(assignee_id__in=[p.user_id for p in profiles])
        .order_by()
        .values("assignee")
        .annotate(n=Count("id"))
        .values_list("assignee", "n")
    )
    return [
        _Agent(
            user_id=p.user_id,
            username=p.user.get_username(),
            capacity=p.capacity,
            load=loads.get(p.user_id, 0),
            last_turn=p.last_turn,
            types=frozenset(t.pk for t in p.appeal_types.all()),
            languages=frozenset(p.languages or ()),
        )
        for p in profiles
    ]


def _waiting(*, appeal_ids, after: Appeal | None, size: int) -> list[Appeal]:
    """The next waiting appeals, the soonest due first (the `appeal_unassigned_due` index's order),
    locked; one another transaction holds is skipped (the next run takes it)."""
    waiting = Appeal.objects.filter(state=AppealState.SUBMITTED, assignee__isnull=True, takeover_suspected=False)
    if appeal_ids is not None:
        waiting = waiting.filter(pk__in=list(appeal_ids))
    if after is not None:  # keyset: past the last one of the previous batch (PostgreSQL sorts NULLs last)
        if after.sla_due_at is None:
            waiting = waiting.filter(sla_due_at__isnull=True, pk__gt=after.pk)
        else:
            waiting = waiting.filter(
                Q(sla_due_at__gt=after.sla_due_at) | Q(sla_due_at=after.sla_due_at, pk__gt=after.pk) | Q(sla_due_at__isnull=True)
            )
    return list(
        waiting.order_by("sla_due_at", "id")
        .select_for_update(skip_locked=True, of=("self",))
        .only("id", "reference", "state", "appeal_type_id", "language", "sla_due_at")[:size]
    )


def _pick(agents: list[_Agent], appeal: Appeal, strategy: str) -> _Agent | None:
    fits = [agent for agent in agents if agent.takes(appeal)]
    if not fits:
        return None
    if strategy == AssignmentStrategy.ROUND_ROBIN:
        return min(fits, key=lambda a: (a.last_turn, a.user_id))
    return min(fits, key=lambda a: (a.load, a.last_turn, a.user_id))


def _assign_batch(*, waiting: list[Appeal], agents: list[_Agent], strategy: str, now) -> list[tuple[Appeal, str]]:
    """Decide who takes each appeal, then write it: one UPDATE per agent (claimed for them: in review,
    theirs), their turns, and the audit events in one INSERT."""
    turn = AgentProfile.objects.aggregate(turn=Max("last_turn"))["turn"] or 0
    chosen: dict[int, list[Appeal]] = defaultdict(list)
    by_id = {agent.user_id: agent for agent in agents}
    done = []
    for appeal in waiting:
        agent = _pick(agents, appeal, strategy)
        if agent is None:
            continue
        turn += 1
        agent.load, agent.last_turn = agent.load + 1, turn
        chosen[agent.user_id].append(appeal)
        done.append((appeal, agent.username))
    for user_id, appeals in chosen.items():
        # The claim transition runs on each appeal in memory (it checks the state and says what changes),
        # then one UPDATE writes what it set, for many rows at once (the rows are locked above).
        agent_user = get_user_model()(pk=user_id)
        for appeal in appeals:
            appeal.claim(by=agent_user)
        Appeal.objects.filter(pk__in=[a.pk for a in appeals], state=AppealState.SUBMITTED, assignee__isnull=True).update(
            state=appeals[0].state, assignee_id=appeals[0].assignee_id, updated_at=now
        )
        AgentProfile.objects.filter(user_id=user_id).update(last_turn=by_id[user_id].last_turn)
    appeal_auto_assigned_events(assigned=done, strategy=strategy, now=now)
    return done


def assignment_run(*, appeal_ids=None, agent_ids=None, strategy: str | None = None, now=None) -> list[tuple[str, str]]:
    """Assign waiting appeals: these (`appeal_ids`), or any; to these agents (`agent_ids`), or any. Returns
    (reference, agent's username) per appeal assigned. Batch by batch, each in its own transaction under
    the assignment lock; stops when nothing waits or nobody has room. Does nothing while
    ASSIGNMENT_AUTOMATIC is off."""
    if not settings.ASSIGNMENT_AUTOMATIC:
        return []
    strategy = strategy or settings.ASSIGNMENT_STRATEGY
    assigned: list[tuple[str, str]] = []
    after = None
    while True:
        with transaction.atomic():
            _lock()
            agents = _agents(agent_ids)
            if not any(agent.load < agent.capacity for agent in agents):
                break
            waiting = _waiting(appeal_ids=appeal_ids, after=after, size=ASSIGNMENT_BATCH)
            done = _assign_batch(waiting=waiting, agents=agents, strategy=strategy, now=now or timezone.now())
            assigned.extend((appeal.reference, username) for appeal, username in done)
        if len(waiting) < ASSIGNMENT_BATCH:
            break
        after = waiting[-1]
    return assigned


def assignment_sweep(*, now=None) -> list[tuple[str, str]]:
    """Beat: the safety net. Assigns whatever still waits (the after-commit runs were lost, an agent's
    skills changed, …); reads only the waiting appeals and the agents on duty."""
    return assignment_run(now=now)


def assignment_after_commit(*, appeal_ids=(), agent_ids=()) -> None:
    """After this transaction commits, assign these appeals (they now wait) or fill these agents' freed
    places, in the worker. If the broker is down, the beat sweep does it later."""
    appeal_ids = [pk for pk in appeal_ids if pk is not None]
    agent_ids = [pk for pk in agent_ids if pk is not None]
    if settings.ASSIGNMENT_AUTOMATIC and (appeal_ids or agent_ids):
        delay_on_commit(RUN_TASK, appeal_ids, agent_ids)


@transaction.atomic
def agent_profile_save(*, profile: AgentProfile, fields: list[str] | None = None) -> AgentProfile:
    """Save an agent's profile (admin, or the agent's own on duty / away switch); an agent on duty may
    have room now: fill it after commit."""
    profile.changed_at = timezone.now()
    profile.save(update_fields=[*fields, "changed_at"] if fields else None)
    if profile.on_duty:
        assignment_after_commit(agent_ids=[profile.user_id])
    return profile


def agent_duty_set(*, user, on_duty: bool) -> AgentProfile:
    """The agent's own switch in the console: on duty or away. The first use creates their profile with
    the defaults (capacity 10, every type and language)."""
    profile, _created = AgentProfile.objects.get_or_create(user=user)
    profile.on_duty = on_duty
    return agent_profile_save(profile=profile, fields=["on_duty"])

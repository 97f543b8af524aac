"""Automatic assignment (tickets/assignment/): capacity, skills, availability, the strategies, the
moments it runs (arrival, a place freed, an agent back on duty, the beat sweep), races, and the
supervisors' override."""

import contextlib
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from tests.concurrency import at_once
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, console_act, submission
from tickets.assignment import services, tasks
from tickets.assignment.services import agent_duty_set, assignment_run, assignment_sweep
from tickets.models import AgentProfile, Appeal, AppealEvent, AppealState
from tickets.services.agent import appeal_assign, appeal_claim, appeal_reject, appeal_resume
from tickets.services.appellant import appeal_provide_info, appeal_reopen, appeal_withdraw
from tickets.services.intake import appeal_submitted_follow_up
from tickets.services.scheduled import appeal_abandon_stale

automatic = override_settings(ASSIGNMENT_AUTOMATIC=True)


def _agents(count: int, capacity: int = 10, **profile) -> list:
    agents = []
    for n in range(count):
        agent = AgentFactory(username=f"agent{n + 1}")
        AgentProfile.objects.create(user=agent, capacity=capacity, **profile)
        agents.append(agent)
    return agents


def _held(agent) -> int:
    return Appeal.objects.open().filter(assignee=agent).count()


@pytest.fixture(autouse=True)
def english():
    """Events are written in the language active when they happen (the worker's: the site's default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def queued(monkeypatch):
    """The assignment runs queued after commit (the broker is real; the test runs them itself)."""
    calls: list[tuple[list, list]] = []
    monkeypatch.setattr(tasks.assignment_run, "delay", lambda appeal_ids, agent_ids: calls.append((appeal_ids, agent_ids)))
    return calls


@automatic
@pytest.mark.django_db
@pytest.mark.parametrize("strategy", ["least_loaded", "round_robin"])
def test_thirty_appeals_and_three_agents_of_capacity_ten_get_ten_each(appeal_types, settings, strategy):
    settings.ASSIGNMENT_STRATEGY = strategy
    agents = _agents(3)
    AppealFactory.create_batch(30)
    assigned = assignment_sweep()
    assert len(assigned) == 30
    assert [_held(agent) for agent in agents] == [10, 10, 10]
    assert not Appeal.objects.filter(state=AppealState.SUBMITTED).exists()  # each claimed for its agent: in review
    events = AppealEvent.objects.filter(kind=AppealEvent.Kind.ASSIGN)
    assert events.count() == 30 and {e.actor_label for e in events} == {"system"}
    assert all("assigned automatically" in e.comment and not e.public for e in events)
    assert assignment_sweep() == []  # nothing waits any more: a second sweep does nothing


@automatic
@pytest.mark.django_db
def test_round_robin_gives_each_agent_in_turn_and_least_loaded_evens_out(appeal_types, settings):
    agents = _agents(3)
    AppealFactory.create_batch(2, assignee=agents[0], state=AppealState.IN_REVIEW)
    settings.ASSIGNMENT_STRATEGY = "least_loaded"
    AppealFactory.create_batch(4)
    assignment_sweep()
    assert [_held(agent) for agent in agents] == [2, 2, 2]  # the one holding two got none
    settings.ASSIGNMENT_STRATEGY = "round_robin"
    AppealFactory.create_batch(3)
    assigned = assignment_sweep()
    assert sorted(username for _ref, username in assigned) == ["agent1", "agent2", "agent3"]


@automatic
@pytest.mark.django_db
def test_an_agent_marked_away_gets_none_until_back_on_duty(appeal_types, queued, django_capture_on_commit_callbacks):
    agents = _agents(3)
    agent_duty_set(user=agents[1], on_duty=False)
    AppealFactory.create_batch(30)
    assert len(assignment_sweep()) == 20
    assert [_held(agent) for agent in agents] == [10, 0, 10]
    assert Appeal.objects.filter(state=AppealState.SUBMITTED, assignee=None).count() == 10
    queued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        agent_duty_set(user=agents[1], on_duty=True)
    assert queued == [([], [agents[1].pk])]  # back on duty: their free places are filled after commit
    assert tasks.assignment_run(*queued[0]) == 10
    assert [_held(agent) for agent in agents] == [10, 10, 10]


@automatic
@pytest.mark.django_db
def test_skills_limit_what_an_agent_is_given(appeal_types):
    freeze = appeal_types["emergency_freeze"]
    unbind = appeal_types["realname_unbind"]
    english, types_only = _agents(2)
    AgentProfile.objects.filter(user=english).update(languages=["en"])
    types_only.agent_profile.appeal_types.set([freeze])
    chinese_unbind = AppealFactory(appeal_type=unbind, language="zh-hans")
    english_unbind = AppealFactory(appeal_type=unbind, language="en")
    chinese_freeze = AppealFactory(appeal_type=freeze, language="zh-hans")
    assignment_sweep()
    owners = dict(Appeal.objects.values_list("pk", "assignee__username"))
    assert owners[english_unbind.pk] == english.username
    assert owners[chinese_freeze.pk] == types_only.username
    assert owners[chinese_unbind.pk] is None  # nobody on duty takes it: it waits (the sweep tries again)


@pytest.mark.django_db
def test_off_by_default_nothing_is_assigned_or_queued(appeal_types, queued, django_capture_on_commit_callbacks):
    agent = _agents(1)[0]
    appeal = AppealFactory()
    with django_capture_on_commit_callbacks(execute=True):
        agent_duty_set(user=agent, on_duty=True)
        appeal_submitted_follow_up(appeal_id=appeal.pk)
    assert assignment_sweep() == [] and queued == []
    assert Appeal.objects.get(pk=appeal.pk).assignee is None


@automatic
@pytest.mark.django_db
def test_on_arrival_the_follow_up_assigns_the_new_appeal(appeal_types):
    agent = _agents(1)[0]
    appeal = AppealFactory()
    appeal_submitted_follow_up(appeal_id=appeal.pk)
    appeal.refresh_from_db()
    assert appeal.assignee == agent and appeal.state == AppealState.IN_REVIEW


@automatic
@pytest.mark.django_db
def test_agents_without_a_profile_inactive_or_no_longer_agents_get_none(appeal_types):
    AgentFactory(username="no_profile")
    inactive = _agents(1)[0]
    inactive.is_active = False
    inactive.save()
    AppealFactory.create_batch(3)
    assert assignment_sweep() == []


@automatic
@pytest.mark.django_db
def test_a_suspected_takeover_waits_for_a_supervisor(appeal_types):
    _agents(1)
    suspected = AppealFactory(takeover_suspected=True)
    assignment_sweep()
    assert Appeal.objects.get(pk=suspected.pk).assignee is None


@automatic
@pytest.mark.django_db
def test_a_place_freed_by_a_decision_or_a_withdrawal_is_filled(
    appeal_types, reason_codes, queued, django_capture_on_commit_callbacks
):
    agent = _agents(1, capacity=2)[0]
    first, second, waiting = AppealFactory.create_batch(3)
    assignment_sweep()
    assert _held(agent) == 2 and Appeal.objects.get(pk=waiting.pk).assignee is None
    with django_capture_on_commit_callbacks(execute=True):
        appeal_reject(appeal=first, actor=agent, reason="The ID card does not match the account.", reason_code="holder_mismatch")
    assert queued == [([], [agent.pk])]
    tasks.assignment_run(*queued.pop())
    assert Appeal.objects.get(pk=waiting.pk).assignee == agent
    with django_capture_on_commit_callbacks(execute=True):
        appeal_withdraw(appeal=second)
    assert queued == [([], [agent.pk])]


@automatic
@pytest.mark.django_db
def test_a_reopened_or_answered_unassigned_appeal_waits_again_and_is_assigned(
    appeal_types, queued, django_capture_on_commit_callbacks
):
    agent = _agents(1)[0]
    rejected = AppealFactory(state=AppealState.REJECTED, closed_at=timezone.now(), decision_reason="Blurry photo.")
    answered = AppealFactory(state=AppealState.AWAITING_INFO, sla_paused_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        appeal_reopen(appeal=rejected, message="A sharper photo.", files=[])
        appeal_provide_info(appeal=answered, message="Here it is.", files=[])
    assert queued == [([rejected.pk], []), ([answered.pk], [])]
    assert sum(tasks.assignment_run(*call) for call in queued) == 2
    assert set(Appeal.objects.values_list("assignee", flat=True)) == {agent.pk}


@automatic
@pytest.mark.django_db
def test_places_freed_by_the_abandon_sweep_and_by_a_resume_with_another_agent_are_filled(
    appeal_types, queued, django_capture_on_commit_callbacks
):
    ana, bo = _agents(2)
    supervisor = SupervisorFactory(username="boss")
    stale = AppealFactory(state=AppealState.AWAITING_INFO, assignee=ana, sla_paused_at=timezone.now() - timedelta(days=15))
    escalated = AppealFactory(state=AppealState.ESCALATED, assignee=bo, escalated_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        appeal_abandon_stale(days=14)
        appeal_resume(appeal=escalated, actor=supervisor, assignee=ana)
    assert Appeal.objects.get(pk=stale.pk).state == AppealState.CLOSED
    assert queued == [([], [ana.pk]), ([], [bo.pk])]


@automatic
@pytest.mark.django_db
def test_a_supervisors_override_is_recorded_and_frees_the_first_agents_place(
    appeal_types, queued, django_capture_on_commit_callbacks
):
    first, other = _agents(2)
    supervisor = SupervisorFactory(username="boss")
    appeal = AppealFactory()
    assignment_run(appeal_ids=[appeal.pk])
    holder = Appeal.objects.get(pk=appeal.pk).assignee
    target = other if holder == first else first
    with django_capture_on_commit_callbacks(execute=True):
        appeal_assign(appeal=appeal, actor=supervisor, assignee=target)
    event = AppealEvent.objects.filter(kind=AppealEvent.Kind.ASSIGN).last()
    assert event.actor == supervisor
    assert event.comment == f"{target.username} (override: taken from {holder.username})"
    assert queued == [([], [holder.pk])]


@automatic
@pytest.mark.django_db
def test_claiming_and_assigning_by_hand_still_work_beside_it(appeal_types):
    agent = _agents(1, capacity=0)[0]  # capacity 0: never assigned automatically, still claims
    appeal = AppealFactory()
    assignment_sweep()
    appeal = appeal_claim(appeal=appeal, actor=agent, expected_state=AppealState.SUBMITTED)
    assert appeal.assignee == agent and appeal.state == AppealState.IN_REVIEW


@pytest.mark.django_db
def test_a_profile_with_an_unknown_language_is_refused(appeal_types):
    profile = AgentProfile(user=AgentFactory(), languages=["fr"])
    with pytest.raises(ValidationError) as refused:
        profile.full_clean()
    assert "Unknown: fr. Known: zh-hans, en." in refused.value.message_dict["languages"][0]


def _barrier_after_reading_loads(monkeypatch, parties: int = 2):
    """Hold each run, once it has read the agents' loads, until the other has too (or 2 s passed). Under
    the assignment lock the second cannot read before the first commits, so the first goes on alone
    after the timeout; without the lock both would read the same loads and both assign."""
    barrier, read = threading.Barrier(parties), services._agents  # noqa: SLF001 - the race's window

    def agents_then_wait(agent_ids=None):
        found = read(agent_ids)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return found

    monkeypatch.setattr(services, "_agents", agents_then_wait)


@automatic
@pytest.mark.django_db(transaction=True)
def test_two_arrivals_at_once_never_exceed_a_capacity(appeal_types, monkeypatch):
    agent = _agents(1, capacity=3)[0]
    AppealFactory.create_batch(2, assignee=agent, state=AppealState.IN_REVIEW)  # one place left
    arrivals = iter(AppealFactory.create_batch(2))
    ids = [next(arrivals).pk, next(arrivals).pk]
    _barrier_after_reading_loads(monkeypatch)
    results = at_once(lambda: assignment_run(appeal_ids=[ids.pop()]), times=2)
    assert len(results) == 2
    assert sorted(len(r) for r in results) == [0, 1]
    assert _held(agent) == 3
    assert Appeal.objects.filter(assignee=None).count() == 1


@automatic
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_assign_each_appeal_once(appeal_types, monkeypatch):
    agents = _agents(3)
    AppealFactory.create_batch(30)
    _barrier_after_reading_loads(monkeypatch)
    results = at_once(assignment_sweep, times=2)
    assert len(results) == 2
    assert sum(len(r) for r in results) == 30
    events = Counter(AppealEvent.objects.filter(kind=AppealEvent.Kind.ASSIGN).values_list("appeal_id", flat=True))
    assert len(events) == 30 and set(events.values()) == {1}
    assert [_held(agent) for agent in agents] == [10, 10, 10]


@automatic
@pytest.mark.django_db(transaction=True)
def test_filed_on_the_form_assigned_in_the_worker_and_refilled_when_decided(
    appeal_types, reason_codes, celery_worker, en_client, client
):
    """End to end, with the real worker: the submission's follow-up assigns the new appeal; the agent's
    decision frees their one place, and the task queued after commit gives them the next one."""
    agent = _agents(1, capacity=1)[0]
    appeal_type = appeal_types["realname_unbind"]
    for n in range(2):
        form = submission(appeal_type, contact_email=f"appellant{n}@example.com")
        assert en_client.post(reverse("tickets:new", args=[appeal_type.code]), form).status_code == 302
    celery_worker.finished.wait_for("tickets.tasks.appeal_submitted", count=2)
    first = Appeal.objects.get(assignee=agent)
    waiting = Appeal.objects.get(assignee=None)
    assert first.state == AppealState.IN_REVIEW and waiting.state == AppealState.SUBMITTED
    client.force_login(agent)
    console_act(client, first, "reject", comment="The ID card does not match the account.", reason_code="holder_mismatch")
    celery_worker.finished.wait_for("tickets.tasks.assignment_run")
    waiting.refresh_from_db()
    assert waiting.assignee == agent and waiting.state == AppealState.IN_REVIEW

"""The console's pages for automatic assignment: the agent's own on duty / away switch, and the
supervisors' view of everyone's load."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.assignment import tasks
from tickets.models import AgentProfile, AppealState

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch):
    calls = []
    monkeypatch.setattr(tasks.assignment_run, "delay", lambda appeal_ids, agent_ids: calls.append((appeal_ids, agent_ids)))
    return calls


def test_an_agent_switches_themselves_away_and_back_on_duty(en_client, settings, queued, django_capture_on_commit_callbacks):
    settings.ASSIGNMENT_AUTOMATIC = True
    agent = AgentFactory(username="ana")
    en_client.force_login(agent)
    page = en_client.get(reverse("desk:availability")).content.decode()
    assert "Not in automatic assignment yet" in page and 'data-set-duty="1"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = en_client.post(reverse("desk:availability"), {"on_duty": "0"}, follow=True)
    page = response.content.decode()
    assert "You are away: no new appeals are assigned to you automatically." in page
    assert 'data-on-duty="0"' in page and 'data-set-duty="1"' in page
    assert AgentProfile.objects.get(user=agent).on_duty is False and queued == []
    with django_capture_on_commit_callbacks(execute=True):
        response = en_client.post(reverse("desk:availability"), {"on_duty": "1"}, follow=True)
    assert "You are on duty: new appeals may be assigned to you." in response.content.decode()
    assert AgentProfile.objects.get(user=agent).on_duty is True
    assert queued == [([], [agent.pk])]  # back on duty: their free places are filled after commit


@pytest.mark.parametrize("value", ["", "maybe", "2"])
def test_a_bad_availability_is_refused_and_nothing_changes(en_client, value):
    agent = AgentFactory()
    AgentProfile.objects.create(user=agent, on_duty=True)
    en_client.force_login(agent)
    response = en_client.post(reverse("desk:availability"), {"on_duty": value})
    assert response.status_code == 400
    assert "Choose on duty or away." in response.content.decode()
    assert AgentProfile.objects.get(user=agent).on_duty is True


def test_the_availability_page_says_when_automatic_assignment_is_off(en_client):
    en_client.force_login(AgentFactory())
    page = en_client.get(reverse("desk:availability")).content.decode()
    assert "Automatic assignment is off" in page


def test_supervisors_see_every_agents_load_capacity_and_skills(en_client, appeal_types, settings):
    settings.ASSIGNMENT_AUTOMATIC = True
    ana, bo = AgentFactory(username="ana"), AgentFactory(username="bo")
    AgentFactory(username="cy")  # no profile: listed, never assigned automatically
    AgentProfile.objects.create(user=ana, capacity=2, languages=["en"])
    AgentProfile.objects.create(user=bo, capacity=5, on_duty=False).appeal_types.set([appeal_types["emergency_freeze"]])
    AppealFactory.create_batch(2, assignee=ana, state=AppealState.IN_REVIEW)
    AppealFactory(assignee=bo, state=AppealState.IN_REVIEW)
    supervisor = SupervisorFactory(username="zoe")
    en_client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = en_client.get(reverse("desk:load"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "least loaded" in page
    rows = {name: page.split(f'data-agent="{name}"')[1].split("</tr>")[0] for name in ("ana", "bo", "cy", "zoe")}
    assert 'data-on-duty="1"' in rows["ana"] and "English" in rows["ana"] and "full" in rows["ana"]
    assert 'data-on-duty="0"' in rows["bo"] and appeal_types["emergency_freeze"].name_en in rows["bo"]
    assert 'data-on-duty="none"' in rows["cy"] and "Every type" in rows["cy"]
    held = {name: rows[name].split("data-open-held>")[1].split("<")[0].strip() for name in rows}
    assert held == {"ana": "2", "bo": "1", "cy": "0", "zoe": "0"}
    # The page's own reads stay a handful whatever the number of agents (sessions and the user aside).
    assert len(queries) <= 12


def test_agents_do_not_see_the_load_page(en_client):
    en_client.force_login(AgentFactory())
    assert en_client.get(reverse("desk:load")).status_code == 403

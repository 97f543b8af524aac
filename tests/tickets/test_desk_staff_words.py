"""The console speaks to staff: its own words for states, what each action did, why a button is missing,
and only the evidence details an agent needs at a glance."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

APPELLANT_WORDS = "等待您补充信息"
STAFF_WORDS = "等待申诉人补充"


def test_awaiting_info_is_named_in_staff_words_in_the_queue_filter_and_appeal_page(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now(), language="zh-hans")
    client.force_login(agent)
    queue = client.get(reverse("desk:queue"), {"queue": "mine"}).content.decode()
    assert f"<td>{STAFF_WORDS}</td>" in queue
    assert f'<option value="awaiting_info">{STAFF_WORDS}</option>' in queue
    assert APPELLANT_WORDS not in queue
    page = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert f'data-state="awaiting_info">{STAFF_WORDS}</span>' in page
    assert APPELLANT_WORDS not in page
    # The appellant's own page keeps the words addressed to them.
    client.logout()
    status = client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).content.decode()
    assert APPELLANT_WORDS in status and STAFF_WORDS not in status


def test_a_stale_action_names_the_new_state_in_staff_words(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    client.force_login(agent)
    response = client.post(reverse("desk:act", args=[appeal.reference]),
                           {"action": "reject", "expected_state": "in_review", "comment": "no"}, follow=True)
    html = response.content.decode()
    assert STAFF_WORDS in html and APPELLANT_WORDS not in html

"""Collision detection (tickets/services/presence.py, tickets/console/presence.py): the appeal page's
beat says who else has the appeal open and who is writing; someone who left, or stopped beating,
disappears. In a real browser: tests/browser/test_presence.py."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory

pytestmark = pytest.mark.django_db


def console(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def beat(client, appeal, **data) -> dict:
    response = client.post(reverse("desk:presence", args=[appeal.reference]), data)
    assert response.status_code == 200, response.status_code
    return response.json()


def test_two_agents_on_one_appeal_see_each_other_and_who_is_writing(appeal_types):
    appeal = AppealFactory(state="in_review")
    ann, bo = console(AgentFactory(username="ann")), console(SupervisorFactory(username="bo"))
    assert beat(ann, appeal, writing="0") == {"others": [], "message": ""}
    assert beat(bo, appeal, writing="1") == {
        "others": [{"name": "ann", "writing": False}],
        "message": "Also looking at it: ann.",
    }
    assert beat(ann, appeal, writing="0")["message"] == "Writing on this appeal now: bo."
    # Another appeal is another room.
    assert beat(ann, AppealFactory(state="in_review"), writing="0")["others"] == []


def test_the_page_shows_the_notice_box_and_its_beat(appeal_types):
    appeal = AppealFactory(state="in_review")
    page = console(AgentFactory()).get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert f'data-presence-url="{reverse("desk:presence", args=[appeal.reference])}"' in page
    assert 'data-presence-seconds="3"' in page and "js/presence.js" in page


def test_someone_who_left_or_stopped_beating_disappears(appeal_types):
    appeal = AppealFactory(state="in_review")
    ann, bo, cy = (console(AgentFactory(username=name)) for name in ("ann", "bo", "cy"))
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        beat(ann, appeal, writing="0")
        beat(bo, appeal, writing="0")
        beat(bo, appeal, leave="1")  # bo closed the tab
        assert [other["name"] for other in beat(cy, appeal, writing="0")["others"]] == ["ann"]
        traveller.shift(timedelta(seconds=20))  # ann's laptop went to sleep: no beat since
        assert beat(cy, appeal, writing="0")["others"] == []


def test_only_staff_who_may_open_the_appeal_beat(appeal_types, client):
    appeal = AppealFactory(state="in_review")
    url = reverse("desk:presence", args=[appeal.reference])
    assert client.post(url, {"writing": "1"})["Location"].startswith("/accounts/login/")
    assert console(AgentFactory()).get(url).status_code == 405
    assert console(AgentFactory()).post(reverse("desk:presence", args=["SD-NOPE"]), {}).status_code == 404


def test_without_redis_the_console_shows_nobody_and_goes_on(appeal_types, monkeypatch, caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from tickets.services import presence

    class Down:
        def pipeline(self):
            raise RedisConnectionError("down")

    monkeypatch.setattr(presence, "_redis", lambda: Down())
    appeal = AppealFactory(state="in_review")
    assert beat(console(AgentFactory()), appeal, writing="1") == {"others": [], "message": ""}
    assert "Presence unavailable (Redis)" in caplog.text

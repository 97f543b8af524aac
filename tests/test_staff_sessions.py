"""Staff sessions (supportdesk.middleware.StaffSessionMiddleware, tickets/services/staff_sessions.py):
the idle timeout, the absolute lifetime, and "sign out everywhere" from the console and the admin."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AgentFactory, AppealFactory, UserFactory
from tickets.models import StaffSecurityEvent
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

QUEUE = "/desk/"


def signed_in(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def sign_in_page_message(client, response) -> str:
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), response.status_code
    page = client.get(response["Location"])
    assert page.status_code == 200
    return page.content.decode()


def test_a_session_idle_past_the_limit_is_signed_out_with_the_reason(settings, appeal_types):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = signed_in(AgentFactory())
        traveller.shift(timedelta(minutes=29))
        assert client.get(QUEUE).status_code == 200  # activity: the idle clock starts again
        traveller.shift(timedelta(minutes=29))
        assert client.get(QUEUE).status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get(QUEUE + "?queue=mine")
        assert response["Location"] == "/accounts/login/?next=/desk/%3Fqueue%3Dmine"
        assert "You were signed out after 30 minutes without activity." in sign_in_page_message(client, response)
        assert SESSION_KEY not in client.session
        assert client.get(QUEUE)["Location"].startswith("/accounts/login/")  # and stays out


def test_a_session_past_its_lifetime_is_signed_out_however_busy(settings, appeal_types):
    settings.STAFF_SESSION_IDLE_MINUTES, settings.STAFF_SESSION_MAX_HOURS = 30, 12
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = signed_in(AgentFactory())
        for _ in range(11 * 4):  # a request every 15 minutes for 11 hours
            traveller.shift(timedelta(minutes=15))
            assert client.get(QUEUE).status_code == 200
        traveller.shift(timedelta(hours=1, minutes=1))
        response = client.get(QUEUE)
        assert "You were signed out after 12 hours: please sign in again." in sign_in_page_message(client, response)


def test_the_message_is_in_chinese_for_a_chinese_browser(settings, appeal_types):
    settings.STAFF_SESSION_IDLE_MINUTES = 30
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(AgentFactory())
        traveller.shift(timedelta(minutes=31))
        response = client.get(QUEUE)
        assert "由于 30 分钟没有操作，您已退出登录。" in sign_in_page_message(client, response)


def test_an_expired_session_on_the_sign_in_page_shows_the_page_signed_out(settings, appeal_types):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = signed_in(AgentFactory())
        traveller.shift(timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES + 1))
        page = client.get(reverse("login"))
        assert page.status_code == 200 and "without activity" in page.content.decode()
        assert SESSION_KEY not in client.session


def test_a_post_after_the_timeout_does_nothing_and_goes_to_sign_in(settings, appeal_types):
    appeal = AppealFactory()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = signed_in(AgentFactory())
        traveller.shift(timedelta(minutes=settings.STAFF_SESSION_IDLE_MINUTES + 1))
        response = client.post(reverse("desk:act", args=[appeal.reference]), {"action": "claim", "expected_state": "submitted"})
        assert response["Location"].startswith("/accounts/login/")
    appeal.refresh_from_db()
    assert appeal.state == "submitted" and appeal.assignee is None


def test_the_appellants_session_is_never_timed_out(settings, appeal_types):
    """An appellant's session holds tracking-link access, no user: the staff limits do not apply."""
    appeal = AppealFactory()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client = Client()
        status = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
        assert client.get(status).status_code == 200
        keys = set(client.session.keys())
        traveller.shift(timedelta(hours=settings.STAFF_SESSION_MAX_HOURS + 1))
        assert client.get(reverse("tickets:home")).status_code == 200
        assert client.get(status).status_code == 200
        assert not [key for key in client.session.keys() if key.startswith("staff_session")]  # noqa: SIM118
        assert set(client.session.keys()) == keys


def test_sign_out_everywhere_from_the_console_ends_every_session_of_that_user_only(appeal_types, caplog):
    agent, colleague = AgentFactory(), AgentFactory()
    laptop, phone, other = signed_in(agent), signed_in(agent), signed_in(colleague)
    for client in (laptop, phone, other):
        assert client.get(QUEUE).status_code == 200
    assert "data-sign-out-everywhere" in laptop.get(QUEUE).content.decode()
    with caplog.at_level(logging.INFO, logger="tickets.services.staff_sessions"):
        response = laptop.post(reverse("desk:sign_out_everywhere"))
    assert response["Location"] == reverse("login")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "You were signed out everywhere: every session of your account has ended."
    ]
    assert laptop.get(QUEUE)["Location"].startswith("/accounts/login/")
    ended = phone.get(QUEUE)
    assert "all your sessions were ended" in sign_in_page_message(phone, ended)
    assert other.get(QUEUE).status_code == 200  # a colleague's session goes on
    event = StaffSecurityEvent.objects.get()
    assert (event.kind, event.user, event.actor) == ("sign_out_everywhere", agent, agent)
    assert f"Signed out everywhere: user {agent.username}" in caplog.text
    # Signing in again starts a session under the new generation, which works.
    again = signed_in(agent)
    assert again.get(QUEUE).status_code == 200


def test_sign_out_everywhere_needs_a_post(appeal_types):
    client = signed_in(AgentFactory())
    assert client.get(reverse("desk:sign_out_everywhere")).status_code == 405
    assert client.get(QUEUE).status_code == 200


def test_an_administrator_signs_out_the_selected_users_everywhere(appeal_types):
    target, bystander = AgentFactory(), AgentFactory()
    administrator = UserFactory(is_staff=True, is_superuser=True)
    target_client, bystander_client = signed_in(target), signed_in(bystander)
    admin_client = signed_in(administrator)
    response = admin_client.post(
        reverse("admin:auth_user_changelist"),
        {"action": "sign_out_everywhere", "_selected_action": [target.pk]},
        follow=True,
    )
    assert response.status_code == 200 and "1 user signed out everywhere." in response.content.decode()
    assert target_client.get(QUEUE)["Location"].startswith("/accounts/login/")
    assert bystander_client.get(QUEUE).status_code == 200
    assert admin_client.get(reverse("admin:auth_user_changelist")).status_code == 200  # the administrator stays in
    event = StaffSecurityEvent.objects.get()
    assert (event.kind, event.user, event.actor, event.ip_address) == ("sign_out_everywhere", target, administrator, "127.0.0.1")


def test_sign_out_everywhere_holds_for_a_session_signed_in_before_it_only(appeal_types):
    """The generation is read from the cache: the change drops it at once, so no stale value lets an
    old session through."""
    agent = AgentFactory()
    old = signed_in(agent)
    assert old.get(QUEUE).status_code == 200  # the generation now cached
    administrator = UserFactory(is_staff=True, is_superuser=True)
    signed_in(administrator).post(
        reverse("admin:auth_user_changelist"), {"action": "sign_out_everywhere", "_selected_action": [agent.pk]}
    )
    assert old.get(QUEUE)["Location"].startswith("/accounts/login/")
    new = signed_in(agent)
    assert new.get(QUEUE).status_code == 200


def test_without_the_cache_the_generation_is_read_from_the_database(appeal_types, monkeypatch, caplog):
    """Redis down: every check reads the database, and sign out everywhere still ends the sessions."""
    from django.core.cache import cache
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down(*args, **kwargs):
        raise RedisConnectionError("down")

    agent = AgentFactory()
    laptop, phone = signed_in(agent), signed_in(agent)
    for name in ("get", "set", "delete"):
        monkeypatch.setattr(cache, name, down)
    assert phone.get(QUEUE).status_code == 200
    assert laptop.post(reverse("desk:sign_out_everywhere"))["Location"] == reverse("login")
    assert phone.get(QUEUE)["Location"].startswith("/accounts/login/")
    assert "Session generation cache unavailable: read from the database" in caplog.text

"""Smaller guards at the edge: malformed paths, redirect targets, sign-in guessing, the admin's CSP,
caching of private pages, and the ID-number key in production."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.test_security import PRODUCTION_ENV, ROOT
from tests.tickets.factories import AgentFactory, AppealFactory, UserFactory
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(appeal_types):
    client = Client(raise_request_exception=False)
    client.force_login(AgentFactory())
    return client


# --- A NUL byte in the URL ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/appeals/submitted/AP-%00/", "/appeals/status/a%00b/", "/appeals/new/x%00y/", "/?q=%00", "/appeals/track/?reference=%00"],
)
def test_a_nul_byte_in_a_public_url_is_a_400_not_a_500(path, appeal_types):
    response = Client(raise_request_exception=False).get(path)
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/desk/appeals/AP-%00/", "/desk/?q=%00", "/desk/appeals/AP%00/records.csv"])
def test_a_nul_byte_in_a_console_url_is_a_400_not_a_500(agent_client, path):
    assert agent_client.get(path).status_code == 400


# --- Redirect targets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/desk/",
        "javascript:alert(1)",
        "/desk/\x00",
        "http://testserver.evil.example/desk/",
    ],
)
@pytest.mark.parametrize("form", ["errors", "no assignee", "done"])
def test_bulk_never_redirects_to_a_foreign_or_unsafe_target(agent_client, appeal_types, target, form):
    appeal = AppealFactory()
    data = {"next": target, "references": [appeal.reference], "action": "claim"}
    if form == "errors":
        data["action"] = "no-such-action"
    elif form == "no assignee":
        data["action"] = "assign"
    response = agent_client.post(reverse("desk:bulk"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("desk:queue")


def test_bulk_keeps_a_console_target(agent_client, appeal_types):
    response = agent_client.post(reverse("desk:bulk"), {"next": "/desk/?state=submitted", "action": "bogus"})
    assert response.status_code == 302 and response["Location"] == "/desk/?state=submitted"


# --- Sign-in guessing ------------------------------------------------------------------------------


def _staff(username: str):
    user = AgentFactory(username=username)
    user.set_password("right-password-123")
    user.save()
    return user


def _sign_in(client, username, password="wrong", address="198.51.100.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en"
    )


def test_one_address_guessing_many_user_names_is_stopped(client, appeal_types, settings):
    settings.LOGIN_FAILURES_PER_IP = "3/h"
    _staff("agent_q")
    for name in ("alice", "bob", "carol"):
        assert _sign_in(client, name).status_code == 200
    response = _sign_in(client, "agent_q", "right-password-123")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _sign_in(Client(), "agent_q", "right-password-123", address="203.0.113.5").status_code == 302


def test_one_user_name_guessed_from_many_addresses_is_slowed_but_not_locked_for_good(client, appeal_types, settings):
    settings.LOGIN_FAILURES_PER_USERNAME = "3/15m"
    _staff("agent_r")
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        for number in range(3):
            assert _sign_in(Client(), "agent_r", address=f"203.0.113.{number + 1}").status_code == 200
        assert _sign_in(Client(), "agent_r", "right-password-123", address="198.51.100.9").status_code == 429
        traveller.shift(timedelta(minutes=16))  # the window has ended: the agent signs in again
        assert _sign_in(Client(), "agent_r", "right-password-123", address="198.51.100.9").status_code == 302


# --- The admin's CSP, and no caching of private pages -------------------------------------------------


def test_admin_pages_have_a_content_security_policy(client, appeal_types):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    for path in ("/admin/login/", "/admin/", "/admin/tickets/appeal/"):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
        assert directives["script-src"] == "'self'", path
        assert directives["style-src"] == "'self' 'unsafe-inline'", path
        assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
        assert "unsafe-eval" not in policy


def test_public_pages_keep_the_strict_policy(client, appeal_types):
    policy = client.get("/")["Content-Security-Policy"]
    assert "unsafe-inline" not in policy


def test_console_and_status_pages_are_never_stored(agent_client, appeal_types):
    appeal = AppealFactory()
    pages = {
        "queue": agent_client.get("/desk/"),
        "appeal": agent_client.get(reverse("desk:appeal", args=[appeal.reference])),
        "status": Client().get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"], name


# --- The ID-number key -----------------------------------------------------------------------------


def test_production_start_up_stops_without_its_own_id_number_key():
    ours = ("DJANGO_", "DATABASE_URL", "REDIS", "SITE_URL", "ID_NUMBER")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update({k: v for k, v in PRODUCTION_ENV.items() if k != "ID_NUMBER_HMAC_KEY"})
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "DJANGO_SETTINGS_MODULE": "supportdesk.settings"},
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: ID_NUMBER_HMAC_KEY must be set when DJANGO_DEBUG is off" in result.stderr

"""Security settings and log hygiene."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.tickets.factories import VALID_ID_NUMBER, AgentFactory, SupervisorFactory, submission, verify_required_evidence
from tickets.models import Appeal
from tickets.services import agent as agent_services
from tickets.tracking import tracking_token_make

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "ID_NUMBER_HMAC_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "support.example.com",
    "DATABASE_URL": "postgres://supportdesk@db.internal:5432/supportdesk",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "SITE_URL": "https://support.example.com",
}


def production(*args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS", "SITE_URL"))}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", **PRODUCTION_ENV},
    )


def test_check_deploy_is_clean_with_production_settings():
    result = production("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_cookies_and_transport_security():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SAMESITE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_HTTPONLY)"
    )
    result = production("-c", code)
    assert result.stdout.split() == ["True", "True", "Lax", "Lax", "True", "31536000", "True"], result.stderr


@pytest.mark.django_db
def test_hsts_header_on_https(client, appeal_types):
    response = client.get("/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/appeals/new/account_recovery/", "/appeals/track/", "/accounts/login/"])
def test_content_security_policy_allows_no_inline_code(client, appeal_types, path):
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


@pytest.mark.django_db
def test_pages_carry_no_inline_script_or_style(client, appeal_types):
    client.force_login(SupervisorFactory())
    appeal = Appeal.objects.create(
        appeal_type=appeal_types["realname_unbind"],
        contact_email="a@example.com",
        letter_background="x",
        letter_steps_taken="x",
        letter_request="x",
    )
    for path in (
        "/",
        "/appeals/new/account_recovery/",
        "/desk/",
        f"/desk/appeals/{appeal.reference}/",
        "/desk/metrics/",
        reverse("tickets:status", args=[tracking_token_make(appeal.reference)]),
    ):
        html = client.get(path).content.decode()
        assert "<script>" not in html and " style=" not in html and "onclick=" not in html, path


@pytest.mark.django_db
def test_no_id_number_or_full_phone_in_logs(client, appeal_types, caplog, settings):
    caplog.set_level(logging.DEBUG)
    appeal_type = appeal_types["phone_rebind"]
    phone, new_phone = "13812345678", "13987654321"
    bad = submission(appeal_type, registered_phone=phone, new_phone=new_phone, contact_email="not-an-email")
    assert client.post(reverse("tickets:new", args=[appeal_type.code]), bad).status_code == 400
    good = submission(appeal_type, registered_phone=phone, new_phone=new_phone, contact_phone=phone)
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), good)
    assert response.status_code == 302, (response.context["form"].appeal.errors, response.context["form"].uploads.errors)
    appeal = Appeal.objects.get()
    agent, supervisor = AgentFactory(), SupervisorFactory()
    agent_services.appeal_claim(appeal=appeal, actor=agent)
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_propose_approval(appeal=appeal, actor=agent)
    agent_services.appeal_second_approve(appeal=appeal, actor=supervisor, comment="Done.")
    client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)]))
    client.get(reverse("tickets:status", args=["tampered-token"]))
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert caplog.records, "the flow should have logged something"
    for secret in (VALID_ID_NUMBER, VALID_ID_NUMBER[:14], phone, new_phone):
        assert secret not in logged

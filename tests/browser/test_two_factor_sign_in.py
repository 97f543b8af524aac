"""Staff two-factor in Chromium: an agent enrols an authenticator app (codes computed with pyotp) at
first sign-in, adds a passkey (Chromium's virtual authenticator, through the DevTools protocol), signs
out, and signs in with each. Without a second factor an evidence file is refused; a captured passkey
assertion replayed in another session is refused and opens nothing."""

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
import time_machine
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential

from tests.browser.conftest import STAFF_PASSWORD, Watched
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import StaffSecurityEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Kind = StaffSecurityEvent.Kind
COMPLETE = "/accounts/passkeys/authentication/complete/"
SECOND_STEP = re.compile(r"/accounts/two-factor/\?next=")


def site(live_server) -> str:
    """Passkeys are bound to a domain name: the live server by its name, never by an IP address."""
    port = urlsplit(live_server.url).port
    return f"http://localhost:{port}"


def with_authenticator(context, page):
    """Chromium's virtual authenticator (a platform passkey that verifies its user at once)."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp


def password_step(page, base, user) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("[name=username]", user.username)
    page.fill("[name=password]", STAFF_PASSWORD)
    page.click("main button[type=submit]")


def sign_out(page) -> None:
    page.click("form[action='/accounts/logout/'] button[type=submit] >> nth=0")
    page.wait_for_url("**/accounts/login/")


def test_an_agent_enrols_an_app_and_a_passkey_and_signs_in_with_each(
    browser, live_server, appeal_types, screenshot, browser_problems
):
    base = site(live_server)
    agent = AgentFactory(username="agent-2fa")
    agent.set_password(STAFF_PASSWORD)
    agent.save()
    appeal = AppealFactory(state="in_review", assignee=agent)
    evidence = EvidenceFactory(appeal=appeal, kind="id_front")
    start = timezone.now()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    watched = Watched(context)
    page = watched.page
    with_authenticator(context, page)

    with time_machine.travel(start, tick=True) as traveller:
        # First sign-in: the enrolment, then the recovery codes, then the console.
        password_step(page, base, agent)
        page.wait_for_url("**/accounts/two-factor/setup/**")
        assert page.locator("[data-qr] svg").is_visible()
        screenshot(page, "two-factor-setup")
        app = pyotp.TOTP(page.locator("[data-secret]").inner_text().replace(" ", ""))
        page.fill("[name=code]", app.now())
        page.click("[data-app-setup] button[type=submit]")
        page.wait_for_selector("[data-recovery-codes]")
        assert page.locator("[data-recovery-codes] li").count() == 10
        screenshot(page, "two-factor-recovery-codes")
        page.click("[data-continue]")
        page.wait_for_url("**/desk/")

        # A passkey, from the security page.
        page.click("[data-security-link]")
        page.wait_for_url("**/accounts/two-factor/manage/")
        page.click("#passkey-register-button")
        page.wait_for_selector("[data-passkey]")
        assert WebAuthnCredential.objects.filter(user=agent, confirmed=True).count() == 1
        screenshot(page, "two-factor-manage")
        sign_out(page)

        # Sign in with the passkey; the assertion sent is kept to be replayed below.
        sent = []
        page.on("request", lambda request: sent.append(request.post_data) if urlsplit(request.url).path == COMPLETE else None)
        password_step(page, base, agent)
        page.wait_for_url(SECOND_STEP)
        assert page.locator("[data-evidence-status]").count() == 0
        screenshot(page, "two-factor-verify")
        page.click("#passkey-verification-button")
        page.wait_for_url("**/desk/")
        assert page.request.get(f"{base}/evidence/{evidence.pk}/").status == 200
        sign_out(page)

        # Sign in with the app (a later code: the enrolment's own code cannot be used again).
        traveller.shift(timedelta(seconds=60))
        password_step(page, base, agent)
        page.wait_for_url(SECOND_STEP)
        page.fill("[name=code]", app.now())
        page.click("[data-code-form] button[type=submit]")
        page.wait_for_url("**/desk/")
        assert page.request.get(f"{base}/evidence/{evidence.pk}/").status == 200
        sign_out(page)

        # The password alone: the evidence file is refused, with the way to the second step.
        password_step(page, base, agent)
        page.wait_for_url(SECOND_STEP)
        browser_problems.expect(403, f"/evidence/{evidence.pk}/")
        page.goto(f"{base}/evidence/{evidence.pk}/")
        assert "Identity documents open only after signing in with a second factor." in page.content()
        screenshot(page, "two-factor-evidence-refused")

        # The captured assertion, replayed in this password-only session (after asking for a fresh
        # challenge, as an attacker would): refused, and the console stays closed.
        browser_problems.expect(422, COMPLETE)
        page.goto(f"{base}/accounts/two-factor/")
        token = page.evaluate("() => JSON.parse(document.getElementById('otp_webauthn_config').textContent).csrfToken")
        begin = page.request.post(f"{base}/accounts/passkeys/authentication/begin/", headers={"X-CSRFToken": token})
        assert begin.status == 200
        replay = page.request.post(
            f"{base}{COMPLETE}", data=sent[0], headers={"X-CSRFToken": token, "Content-Type": "application/json"}
        )
        assert replay.status == 422, replay.status  # the challenge signed is not the one asked for
        assert json.loads(replay.body())["detail"]
        page.goto(f"{base}/desk/")
        assert SECOND_STEP.search(page.url)

    assert StaffSecurityEvent.objects.filter(user=agent, kind=Kind.TWO_FACTOR_ENROLLED).count() == 2  # app, passkey
    verified = list(StaffSecurityEvent.objects.filter(user=agent, kind=Kind.TWO_FACTOR_VERIFIED).values_list("detail", flat=True))
    assert verified == ["passkey", "authenticator app"]
    assert StaffSecurityEvent.objects.filter(user=agent, kind=Kind.TWO_FACTOR_FAILED, detail__startswith="passkey").exists()
    context.close()

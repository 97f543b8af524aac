"""Staff two-factor (supportdesk/two_factor/): enrolment at first sign-in, the second step with the app's
code or a recovery code, what a password alone opens (nothing protected), wrong and reused codes, the
limits on guessing, and the administrator's reset. Passkeys in a real browser:
tests/browser/test_two_factor_sign_in.py."""

import base64
import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from evidence.models import EvidenceAccess
from tests.conftest import second_factor_session
from tests.evidence.factories import EvidenceFactory
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory
from tickets.models import AppealEvent, OutboundEmail, StaffSecurityEvent

pytestmark = [pytest.mark.django_db, pytest.mark.password_only]

PASSWORD = "a-long-demo-password-42"
Kind = StaffSecurityEvent.Kind


def staff(factory=AgentFactory, **kwargs):
    user = factory(**kwargs)
    user.set_password(PASSWORD)
    user.save()
    return user


def password_sign_in(user, next_url="") -> tuple[Client, object]:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        reverse("login") + (f"?next={next_url}" if next_url else ""), {"username": user.username, "password": PASSWORD}
    )
    return client, response


def secret_of(page: str) -> str:
    return re.search(r"data-secret>([A-Z2-7 ]+)<", page).group(1).replace(" ", "")


def verified_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    second_factor_session(client, user)
    return client


def kinds(user) -> list[str]:
    return list(StaffSecurityEvent.objects.filter(user=user).values_list("kind", flat=True))


def enrolled_with_app(user) -> pyotp.TOTP:
    """Enrol `user` through the pages; returns their app (pyotp), the session ended."""
    client, response = password_sign_in(user)
    page = client.get(response["Location"]).content.decode()
    app = pyotp.TOTP(secret_of(page))
    assert client.post(reverse("two_factor:setup"), {"code": app.now(), "next": "/desk/"}).status_code == 200
    return app


def test_first_sign_in_enrols_an_app_shows_recovery_codes_then_opens_the_console(appeal_types):
    agent = staff(username="new-agent")
    with time_machine.travel(timezone.now(), tick=False):
        client, response = password_sign_in(agent, next_url="/desk/%3Fqueue%3Dmine")
        assert (
            response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F%3Fqueue%3Dmine"
        )
        page = client.get(response["Location"]).content.decode()
        assert "Set up two-factor sign-in" in page and "<svg" in page and "data-qr" in page
        app = pyotp.TOTP(secret_of(page))
        # The QR code carries the same secret, for this user, from this site.
        device = TOTPDevice.objects.get(user=agent)
        assert not device.confirmed and f"secret={secret_of(page)}" in device.config_url and "SupportDesk" in device.config_url
        # Until the code is entered, the console stays closed.
        assert client.get("/desk/")["Location"].startswith("/accounts/two-factor/setup/")

        answer = client.post(reverse("two_factor:setup"), {"code": app.now(), "next": "/desk/?queue=mine"})
        codes = re.findall(r'<li class="list-group-item">([a-z0-9]+)</li>', answer.content.decode())
        assert answer.status_code == 200 and len(codes) == 10 and "They are shown only now." in answer.content.decode()
        assert set(codes) == set(StaticToken.objects.filter(device__user=agent).values_list("token", flat=True))
        assert client.get("/desk/").status_code == 200
    assert kinds(agent) == [Kind.TWO_FACTOR_ENROLLED, Kind.RECOVERY_CODES_ISSUED]
    told = OutboundEmail.objects.get(template="staff_security_change")
    assert told.to == agent.email and told.subject == zh("Your sign-in security changed")
    assert zh("An authenticator app was set up for your account.") in told.body_text
    assert (
        zh("If this was not you, tell an administrator now: your password and your second factor may be known to someone else.")
        in told.body_text
    )


def test_a_wrong_code_at_enrolment_is_refused_and_nothing_is_set_up(appeal_types):
    agent = staff()
    client, response = password_sign_in(agent)
    client.get(response["Location"])
    answer = client.post(reverse("two_factor:setup"), {"code": "000000", "next": "/desk/"}).content.decode()
    assert "That code is not right. Enter the 6-digit code your app shows now." in answer
    assert not TOTPDevice.objects.filter(user=agent, confirmed=True).exists()
    assert not StaticToken.objects.exists() and kinds(agent) == []
    assert client.get("/desk/")["Location"].startswith("/accounts/two-factor/setup/")


def test_a_reload_of_the_enrolment_keeps_the_same_secret(appeal_types):
    agent = staff()
    client, response = password_sign_in(agent)
    first = secret_of(client.get(response["Location"]).content.decode())
    assert secret_of(client.get(response["Location"]).content.decode()) == first
    assert TOTPDevice.objects.filter(user=agent).count() == 1


def test_without_a_second_factor_evidence_is_refused_and_nothing_is_logged(appeal_types, client):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    evidence = EvidenceFactory(appeal=appeal, kind="id_front")
    client.force_login(agent)  # password only (this module is marked password_only)
    for url in (reverse("evidence:serve", args=[evidence.pk]), reverse("evidence:thumbnail", args=[evidence.pk])):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403
        assert "Identity documents open only after signing in with a second factor." in response.content.decode()
    assert not EvidenceAccess.objects.exists()
    # The console and the admin send them to the second step, and back afterwards.
    assert client.get("/desk/?queue=mine")["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F%3Fqueue%3Dmine"
    assert client.get("/admin/")["Location"].startswith("/accounts/two-factor/setup/")


def test_signing_in_with_the_app_opens_evidence(appeal_types):
    agent = staff()
    appeal = AppealFactory(state="in_review", assignee=agent)
    evidence = EvidenceFactory(appeal=appeal, kind="id_front")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        app = enrolled_with_app(agent)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        client, response = password_sign_in(agent)
        assert response["Location"] == "/accounts/two-factor/?next=%2Fdesk%2F"
        assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 403
        answer = client.post(reverse("two_factor:verify"), {"code": app.now(), "next": "/desk/"})
        assert answer.status_code == 302 and answer["Location"] == "/desk/"
        assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 200
    assert EvidenceAccess.objects.filter(user=agent).count() == 1
    assert kinds(agent)[-1] == Kind.TWO_FACTOR_VERIFIED


def test_a_wrong_code_is_refused_with_a_clear_message_and_the_session_stays_closed(appeal_types):
    agent = staff()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        enrolled_with_app(agent)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        client, _ = password_sign_in(agent)
        answer = client.post(reverse("two_factor:verify"), {"code": "123456", "next": "/desk/"})
        assert answer.status_code == 200
        assert "That code is not right. Check your app&#x27;s clock, or use a recovery code." in answer.content.decode()
        assert client.get("/desk/")["Location"].startswith("/accounts/two-factor/")
    failed = StaffSecurityEvent.objects.get(kind=Kind.TWO_FACTOR_FAILED)
    assert (failed.user, failed.detail) == (agent, "wrong code")


def test_a_code_already_used_is_refused_even_by_another_session(appeal_types):
    """A code seen over someone's shoulder, or replayed from a captured request, within its 30 seconds."""
    agent = staff()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        app = enrolled_with_app(agent)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        code = app.now()
        first, _ = password_sign_in(agent)
        assert first.post(reverse("two_factor:verify"), {"code": code, "next": "/desk/"}).status_code == 302
        second, _ = password_sign_in(agent)
        answer = second.post(reverse("two_factor:verify"), {"code": code, "next": "/desk/"})
        assert "This code was already used. Wait for the next code from your app." in answer.content.decode()
        assert second.get("/desk/")["Location"].startswith("/accounts/two-factor/")
        assert first.get("/desk/").status_code == 200
    assert StaffSecurityEvent.objects.get(kind=Kind.TWO_FACTOR_FAILED).detail == "code already used"


def test_a_recovery_code_works_once(appeal_types):
    agent = staff()
    enrolled_with_app(agent)
    code = StaticToken.objects.filter(device__user=agent).first().token
    client, _ = password_sign_in(agent)
    assert client.post(reverse("two_factor:verify"), {"code": code.upper(), "next": "/desk/"})["Location"] == "/desk/"
    assert StaticToken.objects.filter(device__user=agent).count() == 9
    again, _ = password_sign_in(agent)
    answer = again.post(reverse("two_factor:verify"), {"code": code, "next": "/desk/"})
    assert "That code is not right." in answer.content.decode()
    assert again.get("/desk/")["Location"].startswith("/accounts/two-factor/")


def test_guessing_is_stopped_after_the_limit_even_with_the_right_code(appeal_types, settings):
    settings.TWO_FACTOR_FAILURES_PER_USER = "3/15m"
    agent = staff()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        app = enrolled_with_app(agent)
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        client, _ = password_sign_in(agent)
        for guess in ("111111", "222222", "333333"):
            client.post(reverse("two_factor:verify"), {"code": guess, "next": "/desk/"})
        answer = client.post(reverse("two_factor:verify"), {"code": app.now(), "next": "/desk/"})
        assert "Too many wrong codes. Wait a few minutes, then try again." in answer.content.decode()
        assert client.get("/desk/")["Location"].startswith("/accounts/two-factor/")


def test_a_password_alone_cannot_add_a_factor(appeal_types):
    """Someone who stole an enrolled agent's password cannot enrol their own app or passkey."""
    agent = staff()
    enrolled_with_app(agent)
    client, _ = password_sign_in(agent)
    setup = client.get(reverse("two_factor:setup"))
    assert setup.status_code == 302 and setup["Location"].startswith("/accounts/two-factor/?")
    assert client.post(reverse("two_factor:recovery_codes"))["Location"].startswith("/accounts/two-factor/?")
    begin = client.post(reverse("otp_webauthn:credential-registration-begin"), content_type="application/json")
    assert begin.status_code == 403 and "verify your identity first" in begin.json()["detail"]
    assert TOTPDevice.objects.filter(user=agent).count() == 1 and StaticToken.objects.filter(device__user=agent).count() == 10


def test_new_recovery_codes_replace_the_old_ones(appeal_types):
    agent = staff()
    enrolled_with_app(agent)
    old = set(StaticToken.objects.values_list("token", flat=True))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.post(reverse("login"), {"username": agent.username, "password": PASSWORD})
    client.post(reverse("two_factor:verify"), {"code": old.pop(), "next": "/desk/"})
    page = client.get(reverse("two_factor:manage")).content.decode()
    assert "9 codes left." in page
    answer = client.post(reverse("two_factor:recovery_codes"), {"next": "/accounts/two-factor/manage/"}).content.decode()
    new = set(re.findall(r'<li class="list-group-item">([a-z0-9]+)</li>', answer))
    assert len(new) == 10 and not new & old and set(StaticToken.objects.values_list("token", flat=True)) == new
    told = OutboundEmail.objects.filter(template="staff_security_change", to=agent.email).last()
    assert zh("New recovery codes were made for your account; the old ones no longer work.") in told.body_text


def test_an_administrator_resets_a_second_factor_logged_and_the_user_enrols_again(appeal_types):
    agent = staff(username="lost-phone")
    enrolled_with_app(agent)
    phone, _ = password_sign_in(agent)
    admin = staff(UserFactory, username="root", is_staff=True, is_superuser=True)
    admin_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin_client.post(reverse("login"), {"username": "root", "password": PASSWORD})
    admin_client.get(reverse("two_factor:setup"))
    admin_app = pyotp.TOTP(base64.b32encode(TOTPDevice.objects.get(user=admin).bin_key).decode())
    admin_client.post(reverse("two_factor:setup"), {"code": admin_app.now(), "next": "/admin/"})
    answer = admin_client.post(
        reverse("admin:auth_user_changelist"), {"action": "two_factor_reset", "_selected_action": [agent.pk]}, follow=True
    )
    assert "Two-factor reset for 1 user: their sessions have ended." in answer.content.decode()
    assert not TOTPDevice.objects.filter(user=agent).exists() and not StaticToken.objects.filter(device__user=agent).exists()
    reset = StaffSecurityEvent.objects.get(kind=Kind.TWO_FACTOR_RESET)
    assert (reset.user, reset.actor, reset.detail) == (agent, admin, "2 device(s) deleted")
    assert phone.get("/desk/")["Location"].startswith("/accounts/login/")  # their sessions ended
    _, again = password_sign_in(agent)
    assert again["Location"].startswith("/accounts/two-factor/setup/")
    told = OutboundEmail.objects.filter(template="staff_security_change", to=agent.email).last()
    assert "管理员（root）重置了您的第二重验证并结束了您的所有会话。" in told.body_text  # staff e-mails: the console's language


def test_an_administrator_cannot_reset_their_own_second_factor_from_the_admin(appeal_types):
    admin = SupervisorFactory(is_staff=True, is_superuser=True)
    client = verified_client(admin)
    answer = client.post(
        reverse("admin:auth_user_changelist"), {"action": "two_factor_reset", "_selected_action": [admin.pk]}, follow=True
    )
    assert "Your own second factor is changed on your security page, not here." in answer.content.decode()
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert not StaffSecurityEvent.objects.filter(kind=Kind.TWO_FACTOR_RESET).exists()


def test_the_device_admin_is_not_offered(appeal_types):
    """No administrator reads or creates someone's authenticator secret."""
    admin = SupervisorFactory(is_staff=True, is_superuser=True)
    client = verified_client(admin)
    page = client.get("/admin/").content.decode()
    assert "otp_totp" not in page and "otp_static" not in page and "django_otp_webauthn" not in page
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404


def test_the_security_page_lists_factors_and_the_last_passkey_cannot_be_removed(appeal_types):
    agent = staff()
    client = verified_client(agent)
    page = client.get(reverse("two_factor:manage")).content.decode()
    assert "Authenticator app" in page and "No passkey yet." in page and "0 codes left." in page
    assert client.post(reverse("two_factor:passkey_remove", args=[999])).status_code == 302  # not theirs: nothing
    assert TOTPDevice.objects.filter(user=agent).exists()


def test_people_without_a_console_role_are_not_asked(appeal_types):
    user = staff(UserFactory, username="plain")
    _, response = password_sign_in(user)
    assert response["Location"] == "/desk/"
    client = Client()
    client.force_login(user)
    assert client.get(reverse("two_factor:verify")).status_code == 404


def _protected_routes():
    from tests.test_authorization import MATRIX

    return sorted(name for name in MATRIX if name.startswith(("desk:", "evidence:")) or name == "admin:*")


@pytest.mark.parametrize("route", _protected_routes())
def test_protected_routes_need_the_second_factor(route, appeal_types, celery_ping_cached):
    """Every console, admin and evidence URL of the authorization matrix, for an agent, a supervisor and
    an administrator signed in with the password alone: a page sends them to the second step, an
    evidence file answers 403; nothing runs (no appeal event, no access logged)."""
    from tests.test_authorization import MATRIX

    method, build, _expected = MATRIX[route]
    a = AppealFactory()
    url, body = build({"a": a, "b": AppealFactory(), "evidence": EvidenceFactory(appeal=a, kind="id_front")})
    events_before = AppealEvent.objects.count()
    for user in (AgentFactory(), SupervisorFactory(), UserFactory(is_staff=True, is_superuser=True)):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(user)  # password only (this module is marked password_only)
        response = getattr(client, method)(url, body)
        if url.startswith("/evidence/"):
            assert response.status_code == 403, (route, response.status_code)
        else:
            assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/"), (
                route,
                response.status_code,
            )
    assert AppealEvent.objects.count() == events_before and not EvidenceAccess.objects.exists()


def test_the_sign_in_pages_name_the_product_not_the_host(appeal_types):
    client = Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_HOST="support.example.com")
    with override_settings(ALLOWED_HOSTS=["support.example.com"]):
        page = client.get(reverse("login")).content.decode()
    assert '<a class="navbar-brand fw-semibold" href="/">SupportDesk</a>' in page and "support.example.com" not in page

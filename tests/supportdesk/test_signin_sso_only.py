"""The sign-in page with single sign-on on or off, and password sign-in refused when staff sign in with
single sign-on only (supportdesk/signin.py). No provider is needed: nothing here reaches it."""

import pytest
from django.urls import reverse

from tests.tickets.factories import AgentFactory
from tickets.models import StaffSecurityEvent

PASSWORD = "a-long-staff-password-42"
SSO_ONLY = "Staff sign in with single sign-on: use the “Sign in with Corp SSO” button."  # noqa: RUF001 - the page's quotes


@pytest.fixture
def sso_on(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "Corp SSO"
    settings.OIDC_ISSUER = "http://127.0.0.1:9/never-asked"
    settings.OIDC_GROUP_MAP = {"support-agents": "agents"}
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "supportdesk.sso.StaffOIDCBackend"]
    return settings


def _agent():
    agent = AgentFactory()
    agent.set_password(PASSWORD)
    agent.save()
    return agent


@pytest.mark.django_db
def test_with_single_sign_on_off_the_page_and_the_oidc_addresses_are_as_before(en_client):
    page = en_client.get(reverse("login"))

    assert "data-sso-sign-in" not in page.text and 'name="password"' in page.text
    for name in ("oidc_authentication_init", "oidc_authentication_callback", "oidc_logout"):
        assert en_client.get(reverse(name)).status_code == 404


@pytest.mark.django_db
def test_with_single_sign_on_on_the_page_offers_the_button_and_the_password_form(en_client, sso_on):
    page = en_client.get(reverse("login") + "?next=/desk/metrics/")

    assert 'href="/accounts/oidc/authenticate/?next=/desk/metrics/"' in page.text
    assert "Sign in with Corp SSO" in page.text and 'name="password"' in page.text


@pytest.mark.django_db
def test_a_password_sign_in_beside_single_sign_on_signs_in(en_client, sso_on):
    agent = _agent()

    response = en_client.post(reverse("login"), {"username": agent.username, "password": PASSWORD})

    assert (
        response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F"
    )  # password accepted: the second step


@pytest.mark.django_db
def test_without_local_passwords_the_form_is_hidden_behind_a_small_link(en_client, sso_on):
    sso_on.OIDC_STAFF_LOCAL_PASSWORDS = False

    page = en_client.get(reverse("login"))
    assert "Sign in with Corp SSO" in page.text and 'name="password"' not in page.text
    assert 'href="?local=1"' in page.text

    assert 'name="password"' in en_client.get(reverse("login") + "?local=1").text


@pytest.mark.django_db
def test_without_local_passwords_a_password_sign_in_is_refused_with_a_message(en_client, sso_on):
    sso_on.OIDC_STAFF_LOCAL_PASSWORDS = False
    agent = _agent()

    response = en_client.post(reverse("login") + "?local=1", {"username": agent.username, "password": PASSWORD})

    assert response.status_code == 200
    assert SSO_ONLY in response.text.replace("&#x27;", "'")
    assert "_auth_user_id" not in en_client.session
    assert en_client.get(reverse("desk:queue")).status_code == 302
    event = StaffSecurityEvent.objects.get()
    assert event.kind == StaffSecurityEvent.Kind.PASSWORD_SIGN_IN_REFUSED and event.user == agent


@pytest.mark.django_db
def test_a_break_glass_account_still_signs_in_with_its_password(en_client, sso_on):
    sso_on.OIDC_STAFF_LOCAL_PASSWORDS = False
    agent = _agent()
    sso_on.OIDC_BREAK_GLASS_USERS = [agent.username]

    response = en_client.post(reverse("login") + "?local=1", {"username": agent.username, "password": PASSWORD})

    assert (
        response.status_code == 302 and response["Location"] == "/accounts/two-factor/setup/?next=%2Fdesk%2F"
    )  # password accepted: the second step
    assert not StaffSecurityEvent.objects.exists()


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_gives_a_try_again_later_page(en_client, sso_on):
    response = en_client.get(reverse("oidc_authentication_init"))

    assert response.status_code == 503
    assert "The single sign-on provider does not answer. Try again later." in response.text
    assert "oidc_states" not in en_client.session

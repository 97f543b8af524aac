"""Single sign-on (supportdesk/sso.py) against a real OpenID Connect provider (django-oauth-toolkit,
tests/oidc_provider/) in a subprocess, through the live server with `requests` sessions."""

import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.conftest import one_recovery_code
from tests.oidc_provider.server import PASSWORD
from tests.tickets.factories import AgentFactory, UserFactory
from tickets.models import StaffOIDCLink, StaffSecurityEvent

User = get_user_model()
pytestmark = pytest.mark.django_db(transaction=True)


def browser_session() -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = "en"
    return session


def authorization_url(session, live_server) -> str:
    """Start at SupportDesk's SSO link: the provider's authorization address it sends the browser to."""
    response = session.get(f"{live_server.url}{reverse('oidc_authentication_init')}", allow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def callback_url(session, authorization: str, username: str) -> str:
    """At the provider: sign in as `username`; the address it sends the browser back to (not followed)."""
    page = session.get(authorization)  # -> the provider's sign-in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        page.url, data={"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}, allow_redirects=False
    )
    assert response.status_code == 302, response.text  # back to the authorization endpoint
    response = session.get(urljoin(page.url, response.headers["Location"]), allow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert "/accounts/oidc/callback/" in location and "code=" in location, location
    return location


def sso_sign_in(live_server, username: str, session=None):
    session = session or browser_session()
    response = session.get(callback_url(session, authorization_url(session, live_server), username))
    return session, response


def assert_signed_in_to_console(response) -> None:
    """Where a single sign-on ends: signed in (the page opens only for a signed-in staff member), at
    SupportDesk's own second step before the console — the enrolment, for an account without a factor
    yet (tests/test_two_factor.py; through to the console: the first test below)."""
    place = urlsplit(response.url)
    assert response.status_code == 200 and place.path in (reverse("two_factor:setup"), reverse("two_factor:verify")), (
        response.status_code,
        response.url,
    )
    assert place.query == "next=%2Fdesk%2F", place.query


def second_step_passed(session, live_server, user) -> requests.Response:
    code = one_recovery_code(user)
    step = session.get(f"{live_server.url}{reverse('two_factor:verify')}?next=/desk/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', step.text).group(1)
    return session.post(step.url, data={"csrfmiddlewaretoken": token, "code": code, "next": "/desk/"})


def assert_signed_out(session, live_server) -> None:
    response = session.get(f"{live_server.url}{reverse('desk:queue')}", allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"].startswith(reverse("login")), response.status_code


def groups_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def refusal_text(response) -> str:
    return " ".join(re.search(r"<p data-sso-refusal>(.*?)</p>", response.text, re.S).group(1).split())


def test_an_agent_signs_in_at_the_provider_and_lands_on_the_console(live_server, sso_settings):
    session, response = sso_sign_in(live_server, "alice")

    assert_signed_in_to_console(response)
    user = User.objects.get(email="alice@corp.example")
    console = second_step_passed(session, live_server, user)
    assert console.status_code == 200 and urlsplit(console.url).path == reverse("desk:queue"), console.url
    assert user.username == "alice" and not user.has_usable_password() and not user.is_staff
    assert groups_of(user) == {"agents"}
    assert StaffOIDCLink.objects.get(user=user).issuer == sso_settings.OIDC_ISSUER
    event = StaffSecurityEvent.objects.get(kind=StaffSecurityEvent.Kind.SSO_SIGN_IN)
    assert event.user == user and "groups: agents" in event.detail


def test_the_leads_group_maps_to_supervisors(live_server, sso_settings):
    session, response = sso_sign_in(live_server, "bob")

    assert_signed_in_to_console(response)
    assert groups_of(User.objects.get(email="bob@corp.example")) == {"supervisors"}
    assert session.get(f"{live_server.url}{reverse('desk:metrics')}").status_code == 200


def test_signing_in_again_after_a_group_change_at_the_provider_takes_the_old_group_away(live_server, sso_settings, oidc_provider):
    sso_sign_in(live_server, "alice")
    user = User.objects.get(username="alice")
    user.groups.add(Group.objects.create(name="trainers"))  # a local group the provider does not manage
    oidc_provider.person_set("alice", groups=["support-leads"])

    session, response = sso_sign_in(live_server, "alice")

    assert_signed_in_to_console(response)
    assert groups_of(user) == {"supervisors", "trainers"}
    assert User.objects.filter(email="alice@corp.example").count() == 1


def test_someone_in_no_mapped_group_is_refused_and_no_account_is_made(live_server, sso_settings):
    session, response = sso_sign_in(live_server, "carol")

    assert response.status_code == 403
    assert refusal_text(response) == (
        "Your single sign-on account is in none of the groups allowed to use the staff console. "
        "Ask your administrator to add you to the support team&#x27;s group."
    )
    assert not User.objects.filter(email="carol@corp.example").exists()
    assert not StaffOIDCLink.objects.exists()
    assert "marketing" in StaffSecurityEvent.objects.get(kind=StaffSecurityEvent.Kind.SSO_REFUSED).detail
    assert_signed_out(session, live_server)


def test_losing_every_mapped_group_refuses_an_existing_account(live_server, sso_settings, oidc_provider):
    sso_sign_in(live_server, "alice")
    oidc_provider.person_set("alice", groups=["all-staff"])

    session, response = sso_sign_in(live_server, "alice")

    assert response.status_code == 403
    assert_signed_out(session, live_server)
    assert groups_of(User.objects.get(username="alice")) == {"agents"}  # unchanged: nothing was signed in


def _with_query(url: str, **changes) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode({**query, **changes})))


INVALID_ANSWER = (
    "The single sign-on could not be completed: the answer from the provider was not valid, or was used already. "
    "Nobody was signed in. Please try again."
)


def test_a_tampered_state_is_refused(live_server, sso_settings):
    session = browser_session()
    callback = callback_url(session, authorization_url(session, live_server), "alice")

    response = session.get(_with_query(callback, state="not-the-state-we-sent"))

    assert response.status_code == 400 and refusal_text(response) == INVALID_ANSWER
    assert_signed_out(session, live_server)
    assert not User.objects.filter(email="alice@corp.example").exists()
    assert "state" in StaffSecurityEvent.objects.get(kind=StaffSecurityEvent.Kind.SSO_REFUSED).detail


def test_an_id_token_with_another_nonce_is_refused(live_server, sso_settings):
    session = browser_session()
    authorization = _with_query(authorization_url(session, live_server), nonce="a-nonce-we-never-sent")

    response = session.get(callback_url(session, authorization, "alice"))

    assert response.status_code == 400 and refusal_text(response) == INVALID_ANSWER
    assert_signed_out(session, live_server)
    assert not User.objects.filter(email="alice@corp.example").exists()
    assert "Nonce" in StaffSecurityEvent.objects.get(kind=StaffSecurityEvent.Kind.SSO_REFUSED).detail


def test_a_replayed_callback_signs_nobody_in(live_server, sso_settings):
    session = browser_session()
    callback = callback_url(session, authorization_url(session, live_server), "alice")
    assert_signed_in_to_console(session.get(callback))

    again = session.get(callback)  # the same browser: its state was used up
    assert again.status_code == 400 and refusal_text(again) == INVALID_ANSWER

    stranger = browser_session()  # someone who copied the address
    response = stranger.get(callback)
    assert response.status_code == 403
    assert_signed_out(stranger, live_server)
    assert StaffSecurityEvent.objects.filter(kind=StaffSecurityEvent.Kind.SSO_SIGN_IN).count() == 1


def test_a_local_administrator_is_not_taken_over_by_e_mail(live_server, sso_settings):
    root = UserFactory(username="root", email="root@corp.example", is_staff=True, is_superuser=True)

    session, response = sso_sign_in(live_server, "mallory")

    assert response.status_code == 403
    assert refusal_text(response) == (
        "This e-mail address belongs to an administrator account, which cannot be taken over by single sign-on. "
        "Ask an administrator."
    )
    assert_signed_out(session, live_server)
    assert not StaffOIDCLink.objects.exists()
    assert User.objects.filter(email__iexact="root@corp.example").count() == 1
    event = StaffSecurityEvent.objects.get(kind=StaffSecurityEvent.Kind.SSO_REFUSED)
    assert event.user == root and "superuser" in event.detail


def test_an_existing_agent_is_linked_by_verified_e_mail(live_server, sso_settings):
    agent = AgentFactory(username="alice.wang", email="alice@corp.example")

    session, response = sso_sign_in(live_server, "alice")

    assert_signed_in_to_console(response)
    assert StaffOIDCLink.objects.get().user == agent
    assert User.objects.filter(email="alice@corp.example").count() == 1


def test_an_unverified_e_mail_links_no_existing_account(live_server, sso_settings, oidc_provider):
    AgentFactory(username="alice.wang", email="alice@corp.example")
    oidc_provider.person_set("alice", email_verified=False)

    session, response = sso_sign_in(live_server, "alice")

    assert response.status_code == 403
    assert "could not be matched to one staff account" in refusal_text(response)
    assert not StaffOIDCLink.objects.exists()
    assert_signed_out(session, live_server)


def test_a_deactivated_account_is_refused(live_server, sso_settings):
    sso_sign_in(live_server, "dave")
    User.objects.filter(username="dave").update(is_active=False)

    session, response = sso_sign_in(live_server, "dave")

    assert response.status_code == 403
    assert refusal_text(response) == "This staff account is deactivated. Ask an administrator."
    assert_signed_out(session, live_server)


def test_a_password_sign_in_still_works_beside_single_sign_on(live_server, sso_settings):
    agent = AgentFactory()
    agent.set_password(PASSWORD)
    agent.save()
    session = browser_session()
    page = session.get(f"{live_server.url}{reverse('login')}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)

    response = session.post(
        page.url,
        data={"csrfmiddlewaretoken": token, "username": agent.username, "password": PASSWORD},
        headers={"Referer": page.url},
    )

    assert_signed_in_to_console(response)


def test_a_local_account_with_the_same_user_name_is_neither_taken_over_nor_clashed_with(live_server, sso_settings):
    local_dave = UserFactory(username="dave", email="dave@elsewhere.example", is_superuser=True)

    session, response = sso_sign_in(live_server, "dave")

    assert_signed_in_to_console(response)
    link = StaffOIDCLink.objects.get()
    assert link.user != local_dave and link.user.username.startswith("sso-")
    assert link.user.email == "dave@corp.example" and not link.user.is_superuser

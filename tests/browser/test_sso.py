"""Single sign-on in a real browser: the button on the sign-in page, the provider's own sign-in page
(django-oauth-toolkit, tests/oidc_provider/), and back on the console, signed in."""

import pyotp
import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import Watched
from tests.oidc_provider.fixtures import oidc_provider, oidc_provider_process, sso_settings  # noqa: F401
from tests.oidc_provider.server import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_signed_in_to_console(page, username: str, groups: set[str]) -> None:
    """A single sign-on replaces the password only: SupportDesk's own second factor follows (here the
    enrolment of an authenticator app, codes computed with pyotp), then the console, signed in with the
    mapped groups."""
    page.wait_for_url("**/accounts/two-factor/setup/?next=%2Fdesk%2F")
    page.fill("[name=code]", pyotp.TOTP(page.locator("[data-secret]").inner_text().replace(" ", "")).now())
    page.click("[data-app-setup] button[type=submit]")
    page.click("[data-continue]")
    page.wait_for_url("**/desk/")
    user = get_user_model().objects.get(username=username)
    assert set(user.groups.values_list("name", flat=True)) == groups
    assert page.locator("form[action='/accounts/logout/']").count() == 1


@pytest.mark.usefixtures("sso_settings")
def test_a_staff_member_signs_in_with_single_sign_on(live_server, browser, settings, screenshot):
    settings.OIDC_PROVIDER_NAME = "Corp SSO"
    watched = Watched(browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US"))
    page = watched.page

    page.goto(f"{live_server.url}/accounts/login/")
    screenshot(page, "sso-sign-in-page")
    page.get_by_role("link", name="Sign in with Corp SSO").click()
    page.wait_for_url("**/login/?next=/o/authorize/**")  # the provider's own sign-in page
    page.fill("[name=username]", "bob")
    page.fill("[name=password]", PASSWORD)
    page.click("#provider-sign-in")

    assert_signed_in_to_console(page, "bob", {"supervisors"})
    screenshot(page, "sso-signed-in-console")

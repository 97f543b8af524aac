"""Single sign-on in a real browser: the button on the sign-in page, the provider's own sign-in page
(django-oauth-toolkit, tests/oidc_provider/), and back on the console, signed in."""

import pytest
from django.contrib.auth import get_user_model

from tests.browser.conftest import Watched
from tests.oidc_provider.fixtures import oidc_provider, oidc_provider_process, sso_settings  # noqa: F401
from tests.oidc_provider.server import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_signed_in_to_console(page, username: str, groups: set[str]) -> None:
    """Where a single sign-on ends today: on the console, signed in with the mapped groups. (Staff
    two-factor will add its step here.)"""
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

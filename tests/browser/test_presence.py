"""Two browsers on one appeal (collision detection): the second sees the first within 5 s, and sees
them writing once they type a note."""

import pytest

from tests.browser.conftest import staff_signed_in
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_second_browser_sees_the_first_within_five_seconds(browser, live_server, appeal_types, screenshot):
    appeal = AppealFactory(state="in_review")
    first = staff_signed_in(browser, live_server, AgentFactory(username="ann")).page
    second = staff_signed_in(browser, live_server, SupervisorFactory(username="bo")).page
    url = f"{live_server.url}/desk/appeals/{appeal.reference}/"
    first.goto(url)
    second.goto(url)
    notice = second.locator("[data-presence]")
    notice.wait_for(state="visible", timeout=5000)
    assert notice.inner_text() == "Also looking at it: ann."

    first.fill("#id_text", "Asking the appellant for a sharper ID back.")
    second.wait_for_function(
        "() => document.querySelector('[data-presence]').textContent.startsWith('Writing on this appeal now: ann')",
        timeout=5000,
    )
    screenshot(second, "presence-second-browser")
    # The first sees the second too.
    first.locator("[data-presence]").wait_for(state="visible", timeout=5000)
    assert "bo" in first.locator("[data-presence]").inner_text()

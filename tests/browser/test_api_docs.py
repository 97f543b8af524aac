"""The API's documentation page (Swagger UI from drf-spectacular-sidecar's static files, its start-up
script a file of its own) works under our Content-Security-Policy: no inline script or style allowed,
and any CSP violation, console error or failed request fails the test."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_under_the_csp(live_server, watched, screenshot):
    page = watched.page
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    page.wait_for_selector(".opblock-summary-path >> text=/api/v1/appeals/")
    page.locator(".opblock-summary", has_text="/api/v1/events/").first.click()
    page.wait_for_selector(".opblock-body .parameters")
    # file, status, report fulfilment, registered contacts, events, fresh-photo code
    assert page.locator(".opblock").count() == 6
    assert page.locator(".opblock-summary-path", has_text="/api/v1/fresh-photo-codes/").count() == 1
    screenshot(page, "api-01-docs")
    watched.check()

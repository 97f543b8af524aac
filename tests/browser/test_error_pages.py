"""A submission that fails on the server: the appellant sees the Chinese error page saying the appeal was
not sent, and going back finds the typed text still there (kept in the tab's sessionStorage by
static/js/appeal-draft.js); never the ID number. The admin renders under its CSP. Any console error,
failed request or CSP violation fails the test."""

import pytest
from django.db import OperationalError

from tests import files
from tests.browser.conftest import second_step_passed
from tests.conftest import one_recovery_code
from tests.text import zh
from tests.tickets.factories import VALID_ID_NUMBER, UserFactory
from tickets.models import Appeal

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED = {
    "contact_email": "zhang.wei@example.com",
    "contact_phone": "13800138000",
    "account_identifier": "zhangwei_88",
    "letter_background": "2026年11月1日起，自助解绑提示“解绑无效”。",
    "letter_steps_taken": "自助解绑两次，联系在线客服一次。",
    "letter_request": "请解除我账户的实名认证。",
}


def _fill_form(page, tmp_path):
    for name, value in TYPED.items():
        page.fill(f"[name='{name}']", value)
    page.fill("[name=id_number]", VALID_ID_NUMBER)
    page.check("[name=consent_id_images]")
    for index, kind in enumerate(("id_front", "id_back", "id_handheld"), start=1):
        path = tmp_path / f"{kind}.jpg"
        path.write_bytes(files.photo_bytes(800, 600, seed=index))
        page.set_input_files(f"[name=evidence_{kind}]", str(path))


def _typed_values(page) -> dict:
    return {name: page.input_value(f"[name='{name}']") for name in TYPED}


def test_a_failed_submission_shows_the_chinese_error_page_and_keeps_the_typed_text(
    live_server, watched, appeal_types, tmp_path, monkeypatch, screenshot
):
    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    page = watched.page
    form_url = f"{live_server.url}/appeals/new/realname_unbind/"
    page.goto(form_url)
    _fill_form(page, tmp_path)

    monkeypatch.setattr("tickets.portal.views.appeal_submit", database_gone)
    # The plain form post (a browser without the upload script's XMLHttpRequest path).
    with page.expect_navigation():
        page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('appeal-form'))")
    html = page.content()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert zh("Your appeal was not sent — please try again.") in html
    assert "Server Error" not in html
    screenshot(page, "error-500-zh")
    assert Appeal.objects.count() == 0

    page.go_back()
    page.wait_for_selector("#appeal-form")
    assert _typed_values(page) == TYPED
    # A fresh visit of the form in the same tab fills it from the tab's storage, never the ID number.
    page.goto(form_url)
    assert _typed_values(page) == TYPED
    assert page.input_value("[name=id_number]") == ""
    stored = page.evaluate("JSON.stringify(window.sessionStorage)")
    assert VALID_ID_NUMBER not in stored and VALID_ID_NUMBER[-4:] not in stored

    # The server is back: the retry goes through (the upload script's path), and the draft is removed.
    monkeypatch.undo()
    _fill_form(page, tmp_path)
    page.get_by_role("button", name=zh("Send my appeal")).click()
    page.wait_for_url("**/appeals/submitted/**", timeout=60_000)
    assert Appeal.objects.count() == 1
    assert page.evaluate("Object.keys(window.sessionStorage).length") == 0
    page.goto(form_url)
    assert page.input_value("[name=letter_request]") == ""
    watched.check(expected=((500, "/appeals/new/realname_unbind/"),))  # the failure this test makes


def test_the_upload_script_keeps_the_form_when_the_server_fails(live_server, watched, appeal_types, tmp_path, monkeypatch):
    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    page = watched.page
    page.goto(f"{live_server.url}/appeals/new/realname_unbind/")
    _fill_form(page, tmp_path)
    monkeypatch.setattr("tickets.portal.views.appeal_submit", database_gone)
    page.get_by_role("button", name=zh("Send my appeal")).click()
    page.wait_for_selector("[data-form-errors]:not([hidden])")
    assert _typed_values(page) == TYPED
    assert Appeal.objects.count() == 0
    watched.check(expected=((500, "/appeals/new/realname_unbind/"),))


def test_admin_pages_render_without_csp_violations(live_server, watched, appeal_types):
    admin = UserFactory(username="root_admin", is_staff=True, is_superuser=True)
    admin.set_password("a-long-admin-password-42")
    admin.save()
    page = watched.page
    page.goto(f"{live_server.url}/admin/login/")  # the staff sign-in, then the second step
    page.wait_for_url("**/accounts/login/?next=/admin/")
    page.fill("[name=username]", "root_admin")
    page.fill("[name=password]", "a-long-admin-password-42")
    code = one_recovery_code(admin)
    page.click("main button[type=submit]")
    second_step_passed(page, code, landing="**/admin/")
    for path in (
        "/admin/",
        "/admin/tickets/appeal/",
        "/admin/auth/user/",
        f"/admin/auth/user/{admin.pk}/change/",
        "/admin/tickets/appealtype/add/",
    ):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "style-src 'self' 'unsafe-inline'" in response.headers["content-security-policy"]
    watched.check()

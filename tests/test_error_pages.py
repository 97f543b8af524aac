"""Error pages (DEBUG off, as in production): in the site's look and the visitor's language; the 500
page renders with the database down and tells someone filing an appeal that it was not sent."""

import errno

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from evidence.storage import evidence_storage
from tests.text import zh
from tests.tickets.factories import AgentFactory, submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db

LANGUAGES = ["zh-hans", "en"]


def say(message: str, language: str) -> str:
    return zh(message) if language == "zh-hans" else message


def assert_in_site_look(response, language: str):
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert "/static/vendor/bootstrap/css/bootstrap.min.css" in html and "/static/css/supportdesk.css" in html
    assert say("SupportDesk", language) in html
    assert "Server Error (500)" not in html and "<h1>Not Found</h1>" not in html


def _fail_every_query(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


def test_debug_is_off_in_these_tests(settings):
    assert settings.DEBUG is False


@pytest.mark.parametrize("language", LANGUAGES)
def test_404_page(client, appeal_types, language):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    assert_in_site_look(response, language)
    assert say("Page not found", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_400_page(appeal_types, language):
    response = Client(raise_request_exception=False).get("/appeals/track/%00/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert_in_site_look(response, language)
    assert say("This request could not be understood", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_403_page(appeal_types, language):
    client = Client()
    client.force_login(AgentFactory())  # an agent, not a supervisor
    response = client.get(reverse("desk:metrics"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    assert_in_site_look(response, language)
    assert say("You cannot open this page", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_403_csrf_page(appeal_types, language):
    response = Client(enforce_csrf_checks=True).post(
        reverse("tickets:track"), {"reference": "AP-1", "email": "a@b.cn"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 403
    assert_in_site_look(response, language)
    assert say("This form has expired", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_429_page(client, appeal_types, settings, language):
    settings.RATELIMIT_TRACK_PER_IP = "1/h"
    for _ in range(2):
        response = client.post(reverse("tickets:track"), {"reference": "AP-1", "email": "a@b.cn"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 429
    assert_in_site_look(response, language)
    assert say("Too many attempts", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_page_when_the_database_fails_during_a_submission(appeal_types, evidence_root, language):
    appeal_type = appeal_types["realname_unbind"]
    client = Client(raise_request_exception=False)
    data = submission(appeal_type)
    with connection.execute_wrapper(_fail_every_query):
        response = client.post(reverse("tickets:new", args=[appeal_type.code]), data, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 500
    assert_in_site_look(response, language)
    assert say("Your appeal was not sent — please try again.", language) in response.content.decode()
    assert Appeal.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_page_when_the_disk_fails_during_a_submission(appeal_types, evidence_root, monkeypatch, language):
    def disk_full(name, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evidence_storage, "_save", disk_full)
    appeal_type = appeal_types["realname_unbind"]
    client = Client(raise_request_exception=False)
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 500
    assert_in_site_look(response, language)
    assert say("Your appeal was not sent — please try again.", language) in response.content.decode()
    assert Appeal.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_500_page_elsewhere_says_what_to_do(appeal_types, language):
    client = Client(raise_request_exception=False)
    with connection.execute_wrapper(_fail_every_query):
        response = client.get("/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 500
    assert_in_site_look(response, language)
    assert say("Something went wrong on our side", language) in response.content.decode()


@pytest.mark.parametrize("language", LANGUAGES)
def test_413_page(client, appeal_types, settings, language):
    settings.REQUEST_BODY_MAX_BYTES = 1024
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(
        reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type), HTTP_ACCEPT_LANGUAGE=language
    )
    assert response.status_code == 413
    assert_in_site_look(response, language)
    assert say("Too much was sent at once", language) in response.content.decode()
    assert Appeal.objects.count() == 0

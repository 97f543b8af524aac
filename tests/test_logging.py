"""No tracking link's token reaches any log: Django's loggers on every error path, a real gunicorn's access
and error logs, and a real Celery worker's log."""

import logging
import time

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.faults import WorkerProcess, wait_until
from tests.servers import Gunicorn
from tests.tickets.factories import AppealFactory
from tickets.tracking import tracking_token_make


def _everything_logged(caplog) -> str:
    """Every record as a handler would see it: message, arguments, exception text and the request."""
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), str(record.args), record.exc_text or ""]
        request = getattr(record, "request", None)
        if request is not None:
            parts += [
                request.path,
                request.get_full_path(),
                str(request.META.get("PATH_INFO")),
                str(request.META.get("HTTP_REFERER")),
                str(request.META.get("QUERY_STRING")),
            ]
    return "\n".join(parts)


@pytest.fixture
def status_url(appeal_types):
    appeal = AppealFactory(language="en")
    token = tracking_token_make(appeal.reference)
    return token, reverse("tickets:status", args=[token])


def _fail_every_query(execute, sql, params, many, context):
    raise OperationalError("the database is gone")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [400, 403, 404, 405, 500])
def test_no_tracking_token_in_django_logs_on_any_error_path(caplog, status_url, status):
    caplog.set_level(logging.DEBUG)
    token, url = status_url
    referer = {"HTTP_REFERER": f"http://testserver{url}"}
    if status == 400:  # a form with errors
        response = Client().post(url, {"action": "withdraw"}, **referer)
    elif status == 403:  # the CSRF failure from the report
        response = Client(enforce_csrf_checks=True).post(url, {"action": "withdraw", "confirm": "on"}, **referer)
    elif status == 404:  # a token that does not verify, with the real one in the query string
        bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        response = Client().get(reverse("tickets:status", args=[bad]) + f"?from={url}", **referer)
        token = bad
    elif status == 405:
        response = Client().put(url, **referer)
    else:  # the database fails while the page is served
        with connection.execute_wrapper(_fail_every_query):
            response = Client(raise_request_exception=False).get(url, **referer)
    assert response.status_code == status
    logged = _everything_logged(caplog)
    assert any(r.name in ("django.request", "django.security.csrf") for r in caplog.records), "the error was logged"
    assert "/appeals/status/[redacted]/" in logged
    assert token not in logged
    assert token.split(":")[0] not in logged  # not even the payload part


@pytest.mark.django_db
def test_exception_text_is_redacted_too(caplog):
    caplog.set_level(logging.INFO)
    token = tracking_token_make("AP-TEST-0001")
    try:
        raise ValueError(f"could not handle /appeals/status/{token}/")
    except ValueError:
        logging.getLogger("tickets").exception("failed")
    assert token not in _everything_logged(caplog)


@pytest.mark.django_db(transaction=True)
def test_no_tracking_token_in_gunicorn_access_or_error_log(tmp_path, appeal_types):
    appeal = AppealFactory(language="en")
    token = tracking_token_make(appeal.reference)
    url = f"/appeals/status/{token}/"
    with Gunicorn(tmp_path, RATELIMIT_IP_META_KEY="HTTP_X_REAL_IP") as server:
        referer = {"Referer": f"{server.url}{url}"}
        answers = {
            "GET": server.request("GET", url, **{"X-Real-IP": "198.51.100.23"}),
            "POST without CSRF": server.request("POST", url, **referer),
            "OPTIONS": server.request("OPTIONS", url),
            "bad token": server.request("GET", url.replace(token, token[:-3] + "xyz")),
            "another page, from the status page": server.request("GET", "/appeals/track/", **referer),
            "other page, token in the query": server.request("GET", f"/no-such-page/?next={url}"),
        }
        wait_until(lambda: server.access_log.read_text().count("\n") >= len(answers), 30, "the access log")
        logged = server.logs()
    assert answers == {
        "GET": 200,
        "POST without CSRF": 403,
        "OPTIONS": 405,
        "bad token": 404,
        "another page, from the status page": 200,
        "other page, token in the query": 404,
    }
    access = server.access_log.read_text()
    assert "/appeals/status/[redacted]/" in access
    # The client address is the one the application uses (behind the proxy, its header).
    assert any(
        line.startswith("198.51.100.23 ") and '"GET /appeals/status/[redacted]/ HTTP/1.1" 200' in line
        for line in access.splitlines()
    ), access
    assert "Forbidden (CSRF cookie not set.): /appeals/status/[redacted]/" in logged
    assert token not in logged and token.split(":")[0] not in logged


@pytest.mark.django_db(transaction=True)
def test_no_tracking_token_in_celery_worker_log(appeal_types):
    """A task that fails on an argument carrying a status path: Celery logs the failure with its
    arguments and traceback; the worker's handlers clean them."""
    from tickets.outbox.tasks import email_deliver

    token = tracking_token_make("AP-TEST-0001")
    worker = WorkerProcess().start()
    try:
        email_deliver.delay(f"/appeals/status/{token}/")
        worker.wait_for_line("tickets.tasks.email_deliver[")  # received
        line = worker.wait_for_line("raised unexpected")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # the rest of the traceback
            try:
                worker.log.append(worker.lines.get(timeout=0.2))
            except Exception:
                break
    finally:
        worker.stop()
    logged = "".join(worker.log)
    assert "/appeals/status/[redacted]/" in line
    assert token not in logged and token.split(":")[0] not in logged, logged

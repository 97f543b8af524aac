"""`make run`'s e-mail: one readable line per e-mail on the terminal, the whole message in var/mail/."""

import email
import email.policy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from tests.tickets.factories import submission
from tickets.models import Appeal, OutboundEmail
from tickets.outbox.services import outbox_deliver_pending

ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_BACKEND = "supportdesk.mail.DevelopmentEmailBackend"


def email_backend(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS", "EMAIL_"))}
    code = "import django; django.setup(); from django.conf import settings; print(settings.EMAIL_BACKEND)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_development_without_an_email_url_uses_the_one_line_backend():
    assert email_backend(DJANGO_DEBUG="1") == DEVELOPMENT_BACKEND
    assert email_backend(DJANGO_DEBUG="1", EMAIL_URL="consolemail://") == DEVELOPMENT_BACKEND
    assert email_backend(DJANGO_DEBUG="1", EMAIL_URL="smtp://127.0.0.1:1025") == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.django_db
def test_an_acknowledgement_is_one_readable_line_with_its_link_and_a_whole_eml_file(
    appeal_types, client, settings, tmp_path, capfd
):
    settings.EMAIL_BACKEND = DEVELOPMENT_BACKEND
    settings.DEV_MAIL_DIR = tmp_path / "mail"
    appeal_type = appeal_types["realname_unbind"]
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, language="zh-hans"))
    assert response.status_code == 302
    appeal = Appeal.objects.get()
    outbox = OutboundEmail.objects.get()
    capfd.readouterr()

    assert outbox_deliver_pending() == 1  # what the worker and beat run
    outbox.refresh_from_db()  # rendered by the worker as it sent it

    out = capfd.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out  # one line, not the whole HTML message
    (line,) = lines
    assert re.search(r"[\u4e00-\u9fff]", outbox.subject) and appeal.reference in outbox.subject
    assert f"e-mail to {appeal.contact_email}: {outbox.subject}" in line  # the subject decoded, in Chinese
    assert "=?utf-8?" not in line.lower() and "<html" not in line
    link = re.search(r"http://testserver/appeals/status/\S+/", outbox.body_text).group(0)
    assert link in line
    # the link printed is the one that opens the appeal
    assert appeal.reference in client.get(link.removeprefix("http://testserver"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    (eml,) = (tmp_path / "mail").glob("*.eml")
    assert str(eml) in line
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == outbox.subject and message["To"] == appeal.contact_email
    assert message["Message-ID"] == outbox.message_id
    assert link in message.get_body(("plain",)).get_content()
    assert appeal.reference in message.get_body(("html",)).get_content()

"""Pages render in zh-hans (the default) and in English, with a visible switch."""

import pytest
from django.urls import reverse

from tests.text import zh
from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

SAMPLES = ["File an appeal", "Track an appeal", "Get help with your account"]


def test_home_is_in_simplified_chinese_by_default(client, appeal_types):
    html = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in html
    for message in SAMPLES:
        assert zh(message) in html
    assert "解除实名认证" in html  # appeal type names and self-help steps in Chinese
    assert "File an appeal" not in html


def test_home_is_in_english_when_asked(en_client, appeal_types):
    html = en_client.get("/").content.decode()
    assert '<html lang="en">' in html
    for message in SAMPLES:
        assert message in html
    assert "Unbind real-name verification" in html
    assert "解除实名认证" not in html


def test_language_switch_sets_the_language(client, appeal_types):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "File an appeal" in client.get("/").content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert zh("File an appeal") in client.get("/").content.decode()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_public_pages_render_in_their_language(client, appeal_types, language):
    appeal = AppealFactory()
    # The confirmation page is shown only to the browser that filed the appeal.
    client.post(reverse("tickets:new", args=["realname_unbind"]), submission(appeal_types["realname_unbind"]))
    filed = Appeal.objects.exclude(pk=appeal.pk).get()
    pages = {
        reverse("tickets:new", args=["account_recovery"]): "Send my appeal",
        reverse("tickets:submitted", args=[filed.reference]): "What happens next",
        reverse("tickets:track"): "E-mail me the link",
        reverse("tickets:status", args=[tracking_token_make(appeal.reference)]): "Where it stands",
    }
    for url, message in pages.items():
        html = client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        expected = zh(message) if language == "zh-hans" else message
        assert expected in html, f"{url} is not in {language}"
        assert f'<html lang="{language}">' in html


def test_form_errors_are_in_chinese(client, appeal_types):
    response = client.post(reverse("tickets:new", args=["realname_unbind"]), {"contact_email": "x"})
    html = response.content.decode()
    assert response.status_code == 400
    assert zh("Please upload: %(kind)s.") % {"kind": zh("ID card, front")} in html
    assert "This field is required." not in html

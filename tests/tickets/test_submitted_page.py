"""The confirmation page `/appeals/submitted/<reference>/`: only the browser that filed the appeal sees it,
so it cannot be used to learn which references exist."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db


def test_the_browser_that_filed_the_appeal_sees_its_confirmation(en_client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    appeal = Appeal.objects.get()
    assert response["Location"] == reverse("tickets:submitted", args=[appeal.reference])
    page = en_client.get(response["Location"])
    assert page.status_code == 200
    assert appeal.reference in page.content.decode()


def test_another_browser_gets_the_same_404_as_for_a_reference_that_does_not_exist(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    filed = Appeal.objects.get()
    someone_else = Client()
    existing = someone_else.get(reverse("tickets:submitted", args=[filed.reference]), HTTP_ACCEPT_LANGUAGE="en")
    missing = someone_else.get(reverse("tickets:submitted", args=["AP-ZZZZ-ZZZZ"]), HTTP_ACCEPT_LANGUAGE="en")
    assert existing.status_code == missing.status_code == 404
    assert existing.content == missing.content
    assert filed.reference not in existing.content.decode()


def test_an_appeal_filed_elsewhere_is_not_shown_to_a_browser_that_filed_another(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    other = AppealFactory()
    assert client.get(reverse("tickets:submitted", args=[other.reference])).status_code == 404

"""The admin: an integration and its API keys. A key is shown once, at creation; revoking stops it at once;
rotation is a new key, then the old one revoked."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework_api_key.models import APIKey

from integrations.models import Integration, IntegrationAPIKey

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


EVENTS = "/api/v1/events/"


def issue_key(admin_client, integration, *, rate_limit="120/min", name="production") -> tuple[str, object]:
    response = admin_client.post(
        reverse("admin:integrations_integrationapikey_add"),
        {"integration": integration.pk, "name": name, "scopes": ["appeals:read"], "rate_limit": rate_limit},
        follow=True,
    )
    return response, IntegrationAPIKey.objects.filter(name=name).first()


def shown_key(response) -> str:
    text = " ".join(str(message) for message in response.context["messages"])
    return re.search(r"is: (\S+)\. ", text).group(1)


def test_a_new_key_is_shown_once_and_works(admin_client, client):
    integration = Integration.objects.create(name="PayApp")
    response, key = issue_key(admin_client, integration)
    secret = shown_key(response)

    assert key.integration == integration
    assert key.scopes == ["appeals:read"]
    assert secret.startswith(key.prefix + ".")
    assert secret not in str(IntegrationAPIKey.objects.values_list().get())  # stored hashed
    assert client.get(EVENTS, HTTP_AUTHORIZATION=f"Api-Key {secret}").status_code == 200
    page = admin_client.get(reverse("admin:integrations_integrationapikey_change", args=[key.pk]))
    assert secret not in page.content.decode()
    assert "To rotate a key, issue a new key" in page.content.decode()


def test_rotation_a_new_key_then_the_old_one_revoked(admin_client, client):
    integration = Integration.objects.create(name="PayApp")
    old_secret = shown_key(issue_key(admin_client, integration, name="2026-q3")[0])
    new_secret = shown_key(issue_key(admin_client, integration, name="2026-q4")[0])
    old = IntegrationAPIKey.objects.get(name="2026-q3")

    response = admin_client.post(
        reverse("admin:integrations_integrationapikey_changelist"),
        {"action": "revoke", "_selected_action": [old.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert client.get(EVENTS, HTTP_AUTHORIZATION=f"Api-Key {old_secret}").status_code == 401
    assert client.get(EVENTS, HTTP_AUTHORIZATION=f"Api-Key {new_secret}").status_code == 200


def test_an_unreadable_rate_limit_is_refused(admin_client):
    integration = Integration.objects.create(name="PayApp")
    response, key = issue_key(admin_client, integration, rate_limit="lots")
    assert key is None
    assert "A number of requests per s, min, hour or day, e.g. 120/min." in response.content.decode()


def test_the_integration_page_lists_its_keys_and_links_to_issue_one(admin_client):
    integration = Integration.objects.create(name="PayApp")
    IntegrationAPIKey.objects.create_key(integration=integration, name="production", scopes=["appeals:write"])
    page = admin_client.get(reverse("admin:integrations_integration_change", args=[integration.pk])).content.decode()
    assert "production" in page
    assert f"{reverse('admin:integrations_integrationapikey_add')}?integration={integration.pk}" in page


def test_the_librarys_own_key_model_is_not_in_the_admin():
    assert not admin.site.is_registered(APIKey)

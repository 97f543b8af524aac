"""Integrations, their API keys and an API client: `api(key).post(...)` sends `Authorization: Api-Key …`."""

import pytest

from integrations.models import Integration, IntegrationAPIKey, Scope

ALL_SCOPES = [Scope.APPEALS_WRITE, Scope.APPEALS_READ, Scope.FULFILMENT_WRITE]


def api_key_issue(integration: Integration, *, scopes=ALL_SCOPES, rate_limit: str = "1000/min", **fields) -> str:
    _key, secret = IntegrationAPIKey.objects.create_key(
        integration=integration, name=fields.pop("name", "main"), scopes=[str(s) for s in scopes], rate_limit=rate_limit, **fields
    )
    return secret


@pytest.fixture
def integration(db):
    return Integration.objects.create(name="PayApp")


@pytest.fixture
def api_key(integration) -> str:
    return api_key_issue(integration)


class ApiClient:
    def __init__(self, client, key: str | None):
        self.client = client
        self.headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key else {}
        self.headers["HTTP_ACCEPT_LANGUAGE"] = "en"

    def get(self, path: str, data=None, **extra):
        return self.client.get(path, data, **self.headers, **extra)

    def post(self, path: str, data=None, **extra):
        return self.client.post(path, data or {}, **self.headers, **extra)


@pytest.fixture
def api(client):
    """api(key) → a client sending that API key (None: no key)."""
    return lambda key: ApiClient(client, key)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error

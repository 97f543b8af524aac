"""Who may call the API: an API key of an active integration, with the endpoint's scope, within its rate."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationAPIKey, Scope
from tests.tickets.factories import SupervisorFactory, submission
from tests.tickets.test_appeal_submit import assert_nothing_stored

from .conftest import api_key_issue, assert_error

CREATE = reverse("api:appeal-create")
EVENTS = reverse("api:event-list")


def create_body(appeal_types):
    return {**submission(appeal_types["realname_unbind"]), "appeal_type": "realname_unbind"}


def test_no_key_is_401_with_the_scheme_named(api, appeal_types, evidence_root):
    response = api(None).post(CREATE, create_body(appeal_types))
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Api-Key"
    assert_nothing_stored(evidence_root)


@pytest.mark.parametrize("key", ["AbCd1234.not-the-secret", "no-dot-at-all", "x" * 300])
def test_an_unknown_key_is_401_and_nothing_is_stored(api, api_key, appeal_types, evidence_root, key):
    assert_error(api(key).post(CREATE, create_body(appeal_types)), 401, "authentication_failed")
    assert_nothing_stored(evidence_root)


def test_a_right_prefix_with_a_wrong_secret_is_401(api, api_key, appeal_types, evidence_root):
    prefix = api_key.split(".")[0]
    assert_error(api(f"{prefix}.{'x' * 32}").post(CREATE, create_body(appeal_types)), 401, "authentication_failed")
    assert_nothing_stored(evidence_root)


def test_a_revoked_key_is_401_and_nothing_is_stored(api, api_key, appeal_types, evidence_root):
    IntegrationAPIKey.objects.update(revoked=True)
    assert_error(api(api_key).post(CREATE, create_body(appeal_types)), 401, "authentication_failed")
    assert_nothing_stored(evidence_root)


def test_an_expired_key_is_401(api, integration, appeal_types, evidence_root):
    key = api_key_issue(integration, expiry_date=timezone.now() - timedelta(minutes=1))
    assert_error(api(key).post(CREATE, create_body(appeal_types)), 401, "authentication_failed")
    assert_nothing_stored(evidence_root)


def test_a_key_of_an_inactive_integration_is_401(api, integration, api_key, appeal_types, evidence_root):
    integration.is_active = False
    integration.save()
    assert_error(api(api_key).post(CREATE, create_body(appeal_types)), 401, "authentication_failed")
    assert_nothing_stored(evidence_root)


def test_a_key_without_the_scope_is_403_and_nothing_is_stored(api, integration, appeal_types, evidence_root):
    key = api_key_issue(integration, scopes=[Scope.APPEALS_READ])
    error = assert_error(api(key).post(CREATE, create_body(appeal_types)), 403, "permission_denied")
    assert "appeals:write" in error["message"]
    assert_nothing_stored(evidence_root)


def test_reading_needs_the_read_scope(api, integration):
    key = api_key_issue(integration, scopes=[Scope.APPEALS_WRITE])
    assert_error(api(key).get(EVENTS), 403, "permission_denied")


def test_a_signed_in_staff_members_session_authorises_nothing(client, api, appeal_types, evidence_root):
    client.force_login(SupervisorFactory(is_staff=True, is_superuser=True))
    assert_error(api(None).post(CREATE, create_body(appeal_types)), 401, "not_authenticated")
    assert_error(api(None).get(EVENTS), 401, "not_authenticated")
    assert_nothing_stored(evidence_root)


def test_over_the_keys_rate_limit_is_429_with_retry_after(api, integration):
    key = api_key_issue(integration, rate_limit="3/min")
    other = api_key_issue(integration, name="other", rate_limit="3/min")
    for _ in range(3):
        assert api(key).get(EVENTS).status_code == 200
    response = api(key).get(EVENTS)
    assert_error(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60
    assert api(other).get(EVENTS).status_code == 200  # counted per key

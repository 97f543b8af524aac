"""`POST /api/v1/fresh-photo-codes/`: a platform gets the code its appellant shows in the handheld photo,
and files the appeal with the token (a platform cannot see the form that issues it on the web)."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import submission
from tests.tickets.test_appeal_submit import assert_nothing_stored
from tickets.fresh_photo import FRESH_PHOTO_ALPHABET
from tickets.models import Appeal

from .conftest import ALL_SCOPES, api_key_issue, assert_error

ISSUE = reverse("api:fresh-photo-code")
CREATE = reverse("api:appeal-create")


def issue(client, appeal_type="realname_unbind"):
    return client.post(ISSUE, {"appeal_type": appeal_type}, content_type="application/json")


def test_a_platform_gets_a_code_and_files_the_appeal_with_it(api, api_key, appeal_types, evidence_root):
    response = issue(api(api_key))
    assert response.status_code == 201, response.content
    issued = response.json()
    assert len(issued["code"]) == 6 and set(issued["code"]) <= set(FRESH_PHOTO_ALPHABET)
    assert issued["token"] and issued["expires_at"]
    data = {"appeal_type": "realname_unbind", **submission(appeal_types["realname_unbind"], fresh_photo_token=issued["token"])}
    assert api(api_key).post(CREATE, data).status_code == 201
    assert Appeal.objects.get().fresh_photo_code == issued["code"]
    # The same token for a second appeal: one code, one appeal.
    again = {"appeal_type": "realname_unbind", **submission(appeal_types["realname_unbind"], fresh_photo_token=issued["token"])}
    error = assert_error(api(api_key).post(CREATE, again), 400, "invalid")
    assert "already used for an appeal" in error["fields"]["fresh_photo_token"][0]
    assert Appeal.objects.count() == 1


def test_an_appeal_without_a_code_or_with_another_types_code_is_refused(api, api_key, appeal_types, evidence_root):
    other = issue(api(api_key), "account_recovery").json()["token"]
    for token, message in ((None, "The photo code is missing."), (other, "This photo code was issued for another form.")):
        data = {"appeal_type": "realname_unbind", **submission(appeal_types["realname_unbind"], fresh_photo_token=token)}
        error = assert_error(api(api_key).post(CREATE, data), 400, "invalid")
        assert message in error["fields"]["fresh_photo_token"][0]
    assert_nothing_stored(evidence_root)


def test_an_expired_code_is_refused(api, api_key, appeal_types, evidence_root, settings):
    token = issue(api(api_key)).json()["token"]
    data = {"appeal_type": "realname_unbind", **submission(appeal_types["realname_unbind"], fresh_photo_token=token)}
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.FRESH_PHOTO_CODE_MAX_AGE + 60)):
        error = assert_error(api(api_key).post(CREATE, data), 400, "invalid")
    assert "has expired" in error["fields"]["fresh_photo_token"][0]
    assert_nothing_stored(evidence_root)


def test_an_unknown_type_is_refused_and_the_scope_is_needed(api, api_key, integration, appeal_types):
    error = assert_error(issue(api(api_key), "no_such_type"), 400, "invalid")
    assert error["fields"]["appeal_type"] == ["No active appeal type has this code."]
    reader = api_key_issue(integration, name="reader", scopes=[s for s in ALL_SCOPES if s != "appeals:write"])
    assert issue(api(reader)).status_code == 403
    assert issue(api(None)).status_code == 401

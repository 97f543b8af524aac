"""`POST /api/v1/appeals/`: an appeal filed by a platform, through the form's validation and `appeal_submit`."""

import json

import pytest
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import submission
from tests.tickets.test_appeal_submit import assert_nothing_stored, stored_files
from tickets.models import Appeal, OutboundEmail, RechargeRecord

from .conftest import assert_error

CREATE = reverse("api:appeal-create")
CONTACTS = [{"kind": "email", "value": "owner@example.com"}, {"kind": "phone", "value": "13800138000"}]


def body(appeal_types, code="realname_unbind", **overrides):
    data = submission(appeal_types[code], **overrides)
    return {"appeal_type": code, "registered_contacts": json.dumps(CONTACTS), **data}


def same_again(data: dict) -> dict:
    """The same request once more: the same fields and the same file bytes (a test client reads its files)."""
    copy = {}
    for name, value in data.items():
        if hasattr(value, "read"):
            content = value.read()
            value.seek(0)
            copy[name] = files.upload(value.name, content, value.content_type)
        else:
            copy[name] = value
    return copy


def test_a_platform_files_an_appeal(api, api_key, integration, appeal_types, evidence_root):
    response = api(api_key).post(CREATE, body(appeal_types))

    assert response.status_code == 201, response.content
    appeal = Appeal.objects.get()
    answer = response.json()
    assert answer["reference"] == appeal.reference
    assert answer["type"] == "realname_unbind"
    assert answer["state"] == "submitted"
    assert answer["promised_at"]
    assert answer["status_url"] == f"http://testserver/api/v1/appeals/{appeal.reference}/"
    assert appeal.integration == integration
    assert appeal.registered_contacts == CONTACTS
    assert appeal.submitted_ip is None
    assert appeal.evidence.count() == len(appeal_types["realname_unbind"].required_evidence)
    assert len(stored_files(evidence_root)) == appeal.evidence.count()
    assert OutboundEmail.objects.filter(appeal=appeal, template="acknowledgement").count() == 1


def test_record_rows_are_taken_without_the_pages_management_fields(api, api_key, appeal_types):
    data = {k: v for k, v in body(appeal_types, "account_recovery").items() if not k.endswith("_FORMS")}
    assert api(api_key).post(CREATE, data).status_code == 201
    assert list(RechargeRecord.objects.values_list("order_number", flat=True)) == ["TX20261101001"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"contact_email": "not-an-e-mail"}, "contact_email"),
        ({"appeal_type": "no_such_type"}, "appeal_type"),
        ({"registered_contacts": "{not json"}, "registered_contacts"),
        ({"registered_contacts": json.dumps([{"kind": "fax", "value": "1"}])}, "registered_contacts"),
        ({"registered_contacts": json.dumps([{"kind": "email", "value": "not-an-address"}])}, "registered_contacts"),
        ({"registered_contacts": json.dumps([{"kind": "phone", "value": "call me"}])}, "registered_contacts"),
        ({"evidence_id_front": files.upload("id_front.jpg", b"MZ\x90\x00 a program", "image/jpeg")}, "evidence_id_front"),
        ({"id_number": "123"}, "id_number"),
    ],
    ids=["email", "type", "contacts-json", "contacts-kind", "contacts-email", "contacts-phone", "evidence-content", "id-number"],
)
def test_a_malformed_body_is_400_naming_the_field_and_nothing_is_stored(api, api_key, appeal_types, evidence_root, change, field):
    error = assert_error(api(api_key).post(CREATE, {**body(appeal_types), **change}), 400, "invalid")
    assert field in error["fields"]
    assert error["fields"][field]
    assert_nothing_stored(evidence_root)


def test_a_missing_required_file_is_400_naming_it(api, api_key, appeal_types, evidence_root):
    data = body(appeal_types)
    del data["evidence_id_back"]
    error = assert_error(api(api_key).post(CREATE, data), 400, "invalid")
    assert error["fields"]["evidence_id_back"] == ["Please upload: ID card, back."]
    assert_nothing_stored(evidence_root)


def test_a_file_over_the_per_file_limit_is_400_naming_it(api, api_key, appeal_types, evidence_root, settings):
    settings.EVIDENCE_MAX_IMAGE_BYTES = 1000
    error = assert_error(api(api_key).post(CREATE, body(appeal_types)), 400, "invalid")
    assert "evidence_id_front" in error["fields"]
    assert_nothing_stored(evidence_root)


def test_an_oversized_upload_is_413_in_the_error_shape_and_nothing_is_stored(api, api_key, appeal_types, evidence_root, settings):
    settings.REQUEST_BODY_MAX_BYTES = 10_000
    big = files.upload("other.jpg", b"\xff\xd8" + b"0" * 20_000, "image/jpeg")
    assert_error(api(api_key).post(CREATE, body(appeal_types, evidence_other=big)), 413, "request_too_large")
    assert_nothing_stored(evidence_root)


def test_more_files_than_a_request_may_carry_is_400_and_nothing_is_stored(api, api_key, appeal_types, evidence_root, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    assert_error(api(api_key).post(CREATE, body(appeal_types)), 400, "too_many_files")
    assert_nothing_stored(evidence_root)


def test_fields_over_the_memory_limit_are_413_and_nothing_is_stored(api, api_key, appeal_types, evidence_root, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    data = body(appeal_types, letter_background="x" * 2000)
    assert_error(api(api_key).post(CREATE, data), 413, "request_too_large")
    assert_nothing_stored(evidence_root)


def test_not_multipart_is_415(api, api_key, evidence_root):
    response = api(api_key).post(CREATE, json.dumps({"appeal_type": "realname_unbind"}), content_type="application/json")
    assert_error(response, 415, "unsupported_media_type")
    assert_nothing_stored(evidence_root)


def test_the_same_idempotency_key_twice_files_one_appeal_and_answers_the_same(api, api_key, appeal_types, evidence_root):
    data = body(appeal_types)
    retry = same_again(data)
    first = api(api_key).post(CREATE, data, HTTP_IDEMPOTENCY_KEY="order-7781")
    again = api(api_key).post(CREATE, retry, HTTP_IDEMPOTENCY_KEY="order-7781")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Appeal.objects.count() == 1
    assert Evidence.objects.count() == len(stored_files(evidence_root)) == len(appeal_types["realname_unbind"].required_evidence)
    assert OutboundEmail.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_422_and_creates_nothing(api, api_key, appeal_types, evidence_root):
    assert api(api_key).post(CREATE, body(appeal_types), HTTP_IDEMPOTENCY_KEY="order-7781").status_code == 201
    other = body(appeal_types, contact_email="someone.else@example.com")
    assert_error(api(api_key).post(CREATE, other, HTTP_IDEMPOTENCY_KEY="order-7781"), 422, "idempotency_key_reused")
    assert Appeal.objects.count() == 1
    assert len(stored_files(evidence_root)) == Evidence.objects.count()


def test_idempotency_keys_are_per_integration(api, api_key, appeal_types):
    from integrations.models import Integration

    from .conftest import api_key_issue

    other_key = api_key_issue(Integration.objects.create(name="Bank"))
    assert api(api_key).post(CREATE, body(appeal_types), HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    assert api(other_key).post(CREATE, body(appeal_types), HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201
    assert Appeal.objects.count() == 2


def test_a_refused_request_stores_no_idempotency_record_and_its_retry_is_validated_again(api, api_key, appeal_types):
    bad = api(api_key).post(CREATE, body(appeal_types, contact_email="nope"), HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 400
    assert api(api_key).post(CREATE, body(appeal_types), HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201

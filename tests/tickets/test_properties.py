"""Property-based tests: whatever people type or upload, the form and the CSV parser never crash."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.validation import csv_sniff
from tests import files
from tests.tickets.factories import submission
from tickets.portal.forms import DEVICE_COLUMNS, RECHARGE_COLUMNS, LoginDeviceRecordForm, RechargeRecordForm, records_parse_csv

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000)
short = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(background=text, email=short, phone=short, id_number=short, account=short, request_text=text)
@pytest.mark.django_db
def test_appeal_form_never_fails_with_500(
    client, appeal_types, settings, background, email, phone, id_number, account, request_text
):
    settings.RATELIMIT_SUBMIT_PER_IP = "100000/h"
    appeal_type = appeal_types["access_card_unbind"]
    data = submission(
        appeal_type,
        letter_background=background.replace("\x00", ""),
        contact_email=email.replace("\x00", ""),
        registered_phone=phone.replace("\x00", ""),
        id_number=id_number.replace("\x00", ""),
        account_identifier=account.replace("\x00", ""),
        letter_request=request_text.replace("\x00", ""),
    )
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data)
    assert response.status_code in (302, 400)


@SETTINGS
@given(content=st.binary(max_size=4000), name=short)
@pytest.mark.django_db
def test_any_record_csv_upload_is_accepted_or_refused_cleanly(client, appeal_types, settings, content, name):
    settings.RATELIMIT_SUBMIT_PER_IP = "100000/h"
    appeal_type = appeal_types["account_recovery"]
    upload = files.upload((name.replace("\x00", "").replace("/", "") or "x") + ".csv", content, "text/csv")
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, recharge_csv=upload))
    assert response.status_code in (302, 400)


@settings(max_examples=300, deadline=None)
@given(body=text)
def test_csv_parser_returns_rows_or_row_errors_for_any_text(body):
    for form_class, columns in ((RechargeRecordForm, RECHARGE_COLUMNS), (LoginDeviceRecordForm, DEVICE_COLUMNS)):
        rows, errors = records_parse_csv(body, form_class, columns)
        assert isinstance(rows, list) and isinstance(errors, list)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(min_size=1, max_size=4000))
def test_csv_sniffing_of_any_bytes_decodes_or_refuses(content):
    try:
        sniffed, decoded = csv_sniff(files.upload("records.csv", content, "text/csv"))
    except ValidationError:
        return
    assert sniffed.size == len(content) and isinstance(decoded, str)

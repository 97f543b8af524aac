"""What an upload accepts is said once (evidence/validation.py): the content types its checks take and
the per-appeal limits. The forms' `accept` attributes and their limit errors come from there."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from evidence.validation import (
    CSV_ACCEPT,
    CSV_ACCEPTED,
    CSV_TYPE,
    EVIDENCE_ACCEPT,
    EVIDENCE_ACCEPTED,
    IMAGE_TYPES,
    PDF_TYPE,
    evidence_limits_check,
)
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory
from tickets.portal.forms import AppellantEvidenceForm, EvidenceReplaceForm, EvidenceUploadForm


def test_evidence_accepts_the_types_the_sniffer_accepts_with_their_file_names():
    assert set(EVIDENCE_ACCEPTED) == {*IMAGE_TYPES, PDF_TYPE}
    assert EVIDENCE_ACCEPT.split(",") == [
        "image/jpeg", "image/png", "image/webp", "application/pdf", ".jpg", ".jpeg", ".png", ".webp", ".pdf",
    ]  # fmt: skip
    assert CSV_TYPE in CSV_ACCEPTED and ".csv" in CSV_ACCEPT.split(",")


@pytest.mark.django_db
def test_every_upload_input_accepts_what_validation_accepts(appeal_types):
    appeal_type = appeal_types["account_recovery"]
    uploads = EvidenceUploadForm(appeal_type=appeal_type)
    accepts = {name: field.widget.attrs["accept"] for name, field in uploads.fields.items()}
    assert accepts.pop("recharge_csv") == accepts.pop("device_csv") == CSV_ACCEPT
    assert accepts and set(accepts.values()) == {EVIDENCE_ACCEPT}
    appeal = AppealFactory(appeal_type=appeal_type)
    answer = AppellantEvidenceForm(appeal=appeal)
    assert answer.fields["files"].widget.attrs["accept"] == EVIDENCE_ACCEPT
    replace = EvidenceReplaceForm(appeal=appeal, evidence=EvidenceFactory(appeal=appeal, status="rejected"))
    assert replace.fields["file"].widget.attrs["accept"] == EVIDENCE_ACCEPT
    assert f'accept="{EVIDENCE_ACCEPT}"' in str(replace["file"])


@translation.override("en")
def test_the_per_appeal_limits_refuse_the_count_first_then_the_size(settings):
    settings.EVIDENCE_MAX_FILES, settings.EVIDENCE_MAX_TOTAL_BYTES = 2, 1000
    evidence_limits_check(count=2, total_bytes=1000)
    with pytest.raises(ValidationError) as too_many:
        evidence_limits_check(count=3, total_bytes=5000)
    assert too_many.value.code == "too_many_files"
    assert too_many.value.messages == ["Too many files: at most 2 per appeal (you chose 3)."]
    with pytest.raises(ValidationError) as too_much:
        evidence_limits_check(count=2, total_bytes=1001)
    assert too_much.value.code == "too_much_data"
    assert too_much.value.messages == ["The files are too large together: at most 1000\xa0bytes per appeal."]

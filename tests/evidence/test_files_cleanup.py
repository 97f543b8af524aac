"""`evidence_files_cleanup`: the files a failed block (or its failed commit) wrote are deleted; those of
a block that committed stay."""

import pytest
from django.db import IntegrityError, transaction

from evidence.services import evidence_files_cleanup, evidence_store
from evidence.validation import evidence_sniff
from tests import files
from tests.tickets.factories import AppealFactory

pytestmark = pytest.mark.django_db


def stored(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def one_file():
    upload = files.jpeg("front.jpg")
    return [("id_front", upload, evidence_sniff(upload))]


def test_the_files_of_a_committed_block_stay(appeal_types, evidence_root):
    appeal = AppealFactory()
    with evidence_files_cleanup() as stored_names, transaction.atomic():
        evidence_store(appeal=appeal, files=one_file(), stored_names=stored_names, queue_processing=False)
    assert len(stored_names) == 1 and len(stored(evidence_root)) == 1


def test_the_files_of_a_failed_block_are_deleted_and_the_error_goes_on(appeal_types, evidence_root):
    appeal = AppealFactory()
    with pytest.raises(IntegrityError), evidence_files_cleanup() as stored_names, transaction.atomic():
        evidence_store(appeal=appeal, files=one_file(), stored_names=stored_names, queue_processing=False)
        assert len(stored(evidence_root)) == 1
        raise IntegrityError("the insert after the files failed")
    assert stored(evidence_root) == []
    assert appeal.evidence.count() == 0

"""Retention: files deleted EVIDENCE_RETENTION_DAYS after the decision; fingerprints and audit kept;
a legal hold keeps the files."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from evidence.models import Evidence
from evidence.retention import evidence_purge_expired
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory
from tickets.models import AppealEvent

pytestmark = pytest.mark.django_db(transaction=True)  # file deletion happens on commit


@pytest.fixture
def decided(appeal_types):
    decided_at = timezone.now()
    appeal = AppealFactory(state="approved", closed_at=decided_at)
    evidence = EvidenceFactory(appeal=appeal, perceptual_hash="c3c3c3c3c3c3c3c3", perceptual_hash_bits=123)
    return appeal, evidence, decided_at


def test_files_are_kept_inside_the_retention_period(decided, settings):
    appeal, evidence, decided_at = decided
    with time_machine.travel(decided_at + timedelta(days=settings.EVIDENCE_RETENTION_DAYS - 1)):
        assert evidence_purge_expired() == 0
    assert Path(evidence.file.path).exists()


def test_files_are_deleted_after_it_and_fingerprints_stay(decided, settings):
    appeal, evidence, decided_at = decided
    path = Path(evidence.file.path)
    sha256 = evidence.sha256
    with time_machine.travel(decided_at + timedelta(days=settings.EVIDENCE_RETENTION_DAYS, minutes=1)):
        assert evidence_purge_expired() == 1
        assert evidence_purge_expired() == 0
    assert not path.exists()
    evidence.refresh_from_db()
    assert not evidence.file and evidence.purged_at is not None
    assert (evidence.sha256, evidence.perceptual_hash) == (sha256, "c3c3c3c3c3c3c3c3")
    assert AppealEvent.objects.filter(appeal=appeal, kind="evidence_purged").count() == 1


def test_a_legal_hold_keeps_the_files(decided, settings):
    appeal, evidence, decided_at = decided
    appeal.legal_hold = True
    appeal.save()
    with time_machine.travel(decided_at + timedelta(days=settings.EVIDENCE_RETENTION_DAYS * 3)):
        assert evidence_purge_expired() == 0
    assert Path(evidence.file.path).exists()
    assert Evidence.objects.get().purged_at is None


def test_open_appeals_keep_their_files(appeal_types, settings):
    evidence = EvidenceFactory(appeal=AppealFactory())
    with time_machine.travel(timezone.now() + timedelta(days=settings.EVIDENCE_RETENTION_DAYS * 2)):
        assert evidence_purge_expired() == 0
    assert Path(evidence.file.path).exists()

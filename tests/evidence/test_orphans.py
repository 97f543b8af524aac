"""The orphan sweep: files no Evidence row references, once a day old, are deleted; a live row's
files and every file derived from its base name are kept; young files are kept."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from evidence import tasks
from evidence.orphans import evidence_orphans_sweep
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory


def write(root: Path, name: str, when=None) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 part of an ID photo")
    if when is not None:
        os.utime(path, (when.timestamp(), when.timestamp()))
    return name


def files_on(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.django_db
def test_the_sweep_deletes_old_orphans_and_keeps_referenced_derived_and_young_files(appeal_types, evidence_root):
    appeal = AppealFactory()
    processed = EvidenceFactory(appeal=appeal)
    base = processed.file.name
    # What processing and PDF rendering write beside a live row's base name.
    processed.file.name = write(evidence_root, f"{base}.clean.jpg")
    processed.thumbnail.name = write(evidence_root, f"{base}.thumb.jpg")
    processed.save()
    derived = {
        write(evidence_root, f"{base}.page-1.png"),
        write(evidence_root, f"{base}.rebuilt.pdf"),
        write(evidence_root, f"{base}.clean.jpg.partial"),
    }
    pending = EvidenceFactory(appeal=appeal, status="pending")  # its original, not yet processed
    purged = EvidenceFactory(appeal=appeal)
    purged_leftover = purged.file.name  # retention emptied the row but the file stayed
    purged.file.name, purged.purged_at = "", timezone.now()
    purged.save()
    orphans = {
        write(evidence_root, "ab/cd/abcd0123456789abcdef0123456789ab"),  # a failed submission's fragment
        write(evidence_root, "ab/cd/abcd0123456789abcdef0123456789ab.clean.jpg.partial"),
        purged_leftover,
    }

    later = timezone.now() + timedelta(days=2)
    young = write(evidence_root, "ef/01/ef01ffffffffffffffffffffffffffff", when=later - timedelta(hours=23))
    # `base` itself is the processed row's original, left if deleting it after processing failed.
    kept = {base, processed.file.name, processed.thumbnail.name, pending.file.name, *derived, young}
    assert files_on(evidence_root) == kept | orphans

    with time_machine.travel(later, tick=False):
        assert evidence_orphans_sweep() == len(orphans)
    assert files_on(evidence_root) == kept

    with time_machine.travel(later + timedelta(hours=2), tick=False):  # the young one is now a day old
        assert tasks.evidence_orphans_sweep.apply().get() == 1  # the beat task runs the same sweep
    assert files_on(evidence_root) == kept - {young}


@pytest.mark.django_db
def test_nothing_younger_than_a_day_is_deleted(appeal_types, evidence_root):
    write(evidence_root, "12/34/1234abcdabcdabcdabcdabcdabcdabcd")  # unreferenced, but just written
    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert evidence_orphans_sweep() == 0
    assert files_on(evidence_root) == {"12/34/1234abcdabcdabcdabcdabcdabcdabcd"}


def test_the_sweep_is_on_the_beat_schedule():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tasks.evidence_orphans_sweep.name)
    assert entry["schedule"] <= 24 * 60 * 60

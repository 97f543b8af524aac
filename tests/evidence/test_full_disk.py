"""A disk that fills while evidence is written: every writer removes what it wrote, the appellant gets
an error, and nothing is stored — no row and no fragment of an ID photo on disk."""

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.faults import disk_fill, small_disk
from tests.tickets.factories import AppealFactory, submission
from tickets.models import Appeal


@pytest.fixture
def full_disk_root(settings, tmp_path):
    with small_disk(tmp_path / "small-disk", "2m") as root:
        settings.EVIDENCE_ROOT = root
        yield root


def files_on(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def referenced() -> set[str]:
    return {name for row in Evidence.objects.values_list("file", "thumbnail") for name in row if name}


@pytest.mark.django_db
def test_submissions_until_the_disk_is_full_leave_no_fragment_and_store_nothing(appeal_types, full_disk_root, settings):
    settings.RATELIMIT_SUBMIT_PER_IP = "1000/h"
    appeal_type = appeal_types["account_recovery"]  # three ID photos of ~230 KB each per submission
    client = Client(raise_request_exception=False)
    accepted = 0
    for _ in range(12):
        response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
        if response.status_code != 302:
            break
        accepted += 1
    else:
        raise AssertionError("the 2 MB disk never filled")

    assert accepted >= 1  # the disk filled part-way through a later submission
    assert response.status_code == 500  # the appellant is told it failed (the error page itself is the site's)
    assert Appeal.objects.count() == accepted  # nothing of the failed submission was stored...
    on_disk = files_on(full_disk_root)
    assert on_disk == referenced()  # ...and no file or fragment that no row references is left behind
    assert not [name for name in on_disk if name.endswith(".partial")]


@pytest.mark.django_db
def test_processing_on_a_full_disk_removes_its_partial_file(appeal_types, full_disk_root):
    evidence = EvidenceFactory(appeal=AppealFactory(), status="pending", content=files.photo_bytes(1600, 1200, seed=4))
    before = files_on(full_disk_root)
    disk_fill(full_disk_root, leave=64 * 1024)  # the re-encoded copy (~450 KB) cannot fit

    with pytest.raises(OSError):  # the task retries it later (autoretry on OSError)
        evidence_process(evidence_id=evidence.pk)

    assert files_on(full_disk_root) == before | {"filler"}  # no .partial or half-written copy left
    evidence.refresh_from_db()
    assert evidence.status == "pending" and evidence.file.name in before

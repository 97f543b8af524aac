"""Evidence files are readable only by the account the portal runs as: files 0600, directories 0700,
after a real submission and processing."""

import stat
from pathlib import Path

import pytest
from django.urls import reverse

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests.tickets.factories import submission


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.django_db
def test_submitted_and_processed_evidence_is_0600_in_directories_0700(
    appeal_types, client, evidence_root, django_capture_on_commit_callbacks
):
    appeal_type = appeal_types["account_recovery"]
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type))
    assert response.status_code == 302
    originals = [p for p in evidence_root.rglob("*") if p.is_file()]  # as the upload stored them
    assert len(originals) == 3 and {oct(mode(p)) for p in originals} == {"0o600"}
    for evidence in Evidence.objects.all():
        with django_capture_on_commit_callbacks(execute=True):  # processing deletes the original after commit
            evidence_process(evidence_id=evidence.pk)
    ready = Evidence.objects.filter(status="ready")
    assert ready.count() == len(appeal_type.required_evidence) and all(e.thumbnail for e in ready)

    stored = [p for p in evidence_root.rglob("*") if p.is_file()]
    directories = [p for p in evidence_root.rglob("*") if p.is_dir()]
    assert len(stored) == 2 * ready.count()  # the clean copy and the thumbnail of each
    assert {p.name: oct(mode(p)) for p in stored} == {p.name: "0o600" for p in stored}
    assert directories and {str(p): oct(mode(p)) for p in directories} == {str(p): "0o700" for p in directories}

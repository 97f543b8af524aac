"""The upload handler (evidence/uploads.py): every file hashed while the body streams in, kept in
memory per file (not per request), and spilled to a temporary file past the limits."""

import hashlib
import os

import pytest
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.test import RequestFactory
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import submission


def parsed_files(contents: dict[str, bytes]) -> dict:
    """request.FILES of a multipart POST, parsed by the handlers in settings.FILE_UPLOAD_HANDLERS."""
    request = RequestFactory().post("/", {name: files.upload(f"{name}.bin", data) for name, data in contents.items()})
    return {name: request.FILES[name] for name in contents}


def test_each_file_carries_the_sha256_of_its_bytes_computed_as_it_streamed():
    contents = {f"photo{i}": os.urandom(size) for i, size in enumerate((1, 70_000, 1_100_000))}
    for name, uploaded in parsed_files(contents).items():
        assert uploaded.sha256 == hashlib.sha256(contents[name]).hexdigest()
        assert uploaded.read() == contents[name]


def test_three_photos_of_a_megabyte_stay_in_memory_though_the_body_is_over_the_limit(settings):
    # Django's MemoryFileUploadHandler compares the whole body with the limit: a 3 MB appeal had every
    # photo written to a temporary file and read back.
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE < 3_300_000
    contents = {f"photo{i}": os.urandom(1_100_000) for i in range(3)}
    for uploaded in parsed_files(contents).values():
        assert isinstance(uploaded, InMemoryUploadedFile)


def test_a_file_over_the_limit_or_the_request_budget_goes_on_in_a_temporary_file(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100_000
    contents = {"big": os.urandom(250_000), **{f"small{i}": os.urandom(90_000) for i in range(6)}}
    parsed = parsed_files(contents)
    big = parsed["big"]
    assert isinstance(big, TemporaryUploadedFile) and os.path.exists(big.temporary_file_path())
    assert big.read() == contents["big"] and big.size == 250_000
    assert big.sha256 == hashlib.sha256(contents["big"]).hexdigest()
    kinds = [type(parsed[f"small{i}"]) for i in range(6)]
    assert kinds.count(InMemoryUploadedFile) == 4  # four files' worth of memory per request, then disk
    for name, uploaded in parsed.items():
        assert uploaded.read() == contents[name] if name != "big" else True


@pytest.mark.django_db
def test_validation_uses_the_streamed_digest_and_never_hashes_a_file_again(client, appeal_types, evidence_root, monkeypatch):
    from evidence import validation

    class NoHashing:
        @staticmethod
        def sha256(*args):
            raise AssertionError("the file was hashed again after it was received")

    monkeypatch.setattr(validation, "hashlib", NoHashing)
    appeal_type = appeal_types["realname_unbind"]
    photo = files.photo_bytes(1600, 1200, seed=7)
    data = submission(appeal_type, evidence_id_front=files.upload("front.jpg", photo, "image/jpeg"))
    client.raise_request_exception = True
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data)
    assert response.status_code == 302
    assert Evidence.objects.get(kind="id_front").sha256 == hashlib.sha256(photo).hexdigest()

"""Private storage for evidence: rooted at EVIDENCE_ROOT, random names, no public URL."""

import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class EvidenceStorage(FileSystemStorage):
    """Files under EVIDENCE_ROOT. There is deliberately no URL: evidence is streamed only by the
    access-checked view `evidence:serve`."""

    def __init__(self):
        super().__init__(location=None, base_url=None)

    # Read the setting on every use (not cached at import) so the root can be changed per test.
    @property
    def base_location(self):
        return str(settings.EVIDENCE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Evidence files have no public URL; they are served by the evidence view.")


evidence_storage = EvidenceStorage()


def evidence_upload_to(instance, filename: str) -> str:
    """A random path: the appellant's file name is kept only as data (Evidence.original_name)."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def get_evidence_storage():
    return evidence_storage

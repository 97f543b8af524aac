"""Private storage for evidence: rooted at EVIDENCE_ROOT, random names, no public URL.

Files are created 0600 and directories 0700: identity documents are readable only by the account the
web and worker processes run as. A save that fails part-way (a full disk, a dropped upload) removes
what it wrote, so no fragment of an ID photo is left that no row references."""

import contextlib
import os
import secrets

from django.conf import settings
from django.core.files.storage import FileSystemStorage

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700


class EvidenceStorage(FileSystemStorage):
    """Files under EVIDENCE_ROOT. There is deliberately no URL: evidence is streamed only by the
    access-checked view `evidence:serve`."""

    def __init__(self):
        super().__init__(location=None, base_url=None, file_permissions_mode=FILE_MODE, directory_permissions_mode=DIRECTORY_MODE)

    # Read the setting on every use (not cached at import) so the root can be changed per test.
    @property
    def base_location(self):
        return str(settings.EVIDENCE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Evidence files have no public URL; they are served by the evidence view.")

    def directory_create(self, directory: str) -> None:
        """Create `directory` (a path under the root), the root and any missing level between, each
        0700. The mode is given to mkdir rather than set through the umask, which threads share."""
        root = self.location
        os.makedirs(root, DIRECTORY_MODE, exist_ok=True)
        relative = os.path.relpath(directory, root)
        path = root
        for part in [] if relative == "." else relative.split(os.sep):
            path = os.path.join(path, part)
            with contextlib.suppress(FileExistsError):
                os.mkdir(path, DIRECTORY_MODE)

    def _save(self, name, content):
        """Write a new file (never over an existing one), 0600, flushed to disk; on any failure the
        partial file is removed before the error goes on."""
        full_path = self.path(name)
        self.directory_create(os.path.dirname(full_path))
        while True:
            try:
                fd = os.open(full_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
            except FileExistsError:
                name = self.get_available_name(name)
                full_path = self.path(name)
                continue
            break
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                out.flush()
                os.fsync(out.fileno())  # a full disk can surface only here; fail now, not later
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.remove(full_path)
            raise
        return str(name).replace("\\", "/")


evidence_storage = EvidenceStorage()


def evidence_upload_to(instance, filename: str) -> str:
    """A random path: the appellant's file name is kept only as data (Evidence.original_name)."""
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def get_evidence_storage():
    return evidence_storage

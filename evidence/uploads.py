"""The upload handler for every request (settings.FILE_UPLOAD_HANDLERS).

Each file's SHA-256 is computed chunk by chunk while the request body streams in, so validation never
reads a file again to hash it (`evidence.validation` uses `uploaded.sha256`).

Django's own MemoryFileUploadHandler keeps files in memory only when the *whole request* is under
FILE_UPLOAD_MAX_MEMORY_SIZE: an appeal with three 1 MB photos (a 3 MB body) had every photo written
to a temporary file, read back for the checks and copied again into evidence storage. Here the limit
is per file, inside a budget per request: a file stays in memory while it is at most
FILE_UPLOAD_MAX_MEMORY_SIZE and the request's files in memory stay within UPLOAD_MEMORY_BUDGET;
beyond either, it goes on in a temporary file, as before.
"""

import contextlib
import hashlib
import os
from io import BytesIO

from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler

# Per request, what may be held in memory at once: four files of FILE_UPLOAD_MAX_MEMORY_SIZE. With
# gunicorn's 3 workers × 8 threads that bounds upload memory to 24 × 8 MB by default.
UPLOAD_MEMORY_FILES = 4


class HashingUploadHandler(FileUploadHandler):
    """Files in memory (per-file limit, per-request budget) or in a temporary file, each with the
    SHA-256 of its bytes as `uploaded.sha256`, computed as they arrive."""

    # Django reads the body in pieces of this size (64 KiB by default). Each read through gunicorn's
    # body reader copies what it has read ahead and not yet handed out, and each piece costs the
    # multipart parser a round of Python: 256 KiB measured lower CPU than 64 KiB or 1 MiB per appeal.
    chunk_size = 256 * 2**10

    def __init__(self, request=None):
        super().__init__(request)
        self.memory_used = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.hasher = hashlib.sha256()
        self.received = 0
        self.memory: list[bytes] | None = []  # joined once at the end: a growing BytesIO copies as it grows
        self.spilled: TemporaryUploadedFile | None = None

    def _spill(self) -> None:
        self.spilled = TemporaryUploadedFile(self.file_name, self.content_type, 0, self.charset, self.content_type_extra)
        for piece in self.memory:
            self.spilled.write(piece)
        self.memory = None

    def receive_data_chunk(self, raw_data, start):
        self.hasher.update(raw_data)
        self.received += len(raw_data)
        if self.spilled is None:
            limit = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
            if self.received > limit or self.memory_used + self.received > limit * UPLOAD_MEMORY_FILES:
                self._spill()
        if self.spilled is None:
            self.memory.append(raw_data)
        else:
            self.spilled.write(raw_data)
        return None  # this handler keeps the data: no later handler sees it

    def upload_interrupted(self):
        if self.spilled is not None:  # the client went away: remove the temporary file now
            path = self.spilled.temporary_file_path()
            self.spilled.close()
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def file_complete(self, file_size):
        if self.spilled is not None:
            uploaded = self.spilled
            uploaded.seek(0)
            uploaded.size = file_size
        else:
            self.memory_used += file_size
            # BytesIO over a bytes object shares it: reading it whole (validation, storage) copies nothing.
            uploaded = InMemoryUploadedFile(
                file=BytesIO(b"".join(self.memory)),
                field_name=self.field_name,
                name=self.file_name,
                content_type=self.content_type,
                size=file_size,
                charset=self.charset,
                content_type_extra=self.content_type_extra,
            )
        uploaded.sha256 = self.hasher.hexdigest()
        return uploaded

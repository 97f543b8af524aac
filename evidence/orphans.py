"""The orphan sweep: delete files under EVIDENCE_ROOT that no Evidence row references, once they are
old enough that no submission or processing run can still be writing them.

What counts as referenced — the rule:
- every name held in any file field of any Evidence row (today `file` and `thumbnail`; a file field
  added later counts without a change here), read from the database when the sweep starts;
- every file whose path under EVIDENCE_ROOT starts with the *base* of such a name: the name up to its
  first "." (`ab/cd/<32 random hex digits>`; stored names have no other dot). Names are random, so a base
  belongs to one row, and whatever other code writes beside it under a longer name stays as long as
  the row holds any name with that base: `<base>.clean.<ext>`, `<base>.thumb.jpg`, pages rendered
  from a PDF, a rebuilt PDF, a `<name>.partial` being written.

A file is deleted only if it is not referenced AND its modification time is more than `older_than`
(a day) ago: a file is written just before its row commits, so a young file may belong to a
transaction still open. Files of purged or refused evidence (their names are emptied) are orphans.
Directories are left in place: they hold nothing, and removing one could race with an upload.
"""

import logging
import os
import stat
from datetime import timedelta

from django.db import models
from django.utils import timezone

from .models import Evidence
from .storage import evidence_storage

logger = logging.getLogger(__name__)


def _base(name: str) -> str:
    return name.split(".", 1)[0]


def _referenced_bases() -> set[str]:
    fields = [f.name for f in Evidence._meta.get_fields() if isinstance(f, models.FileField)]
    bases: set[str] = set()
    for names in Evidence.objects.values_list(*fields).iterator(chunk_size=5000):
        bases.update(_base(name) for name in names if name)
    return bases


def _is_referenced(relative: str, bases: set[str], lengths: set[int]) -> bool:
    """Does the path start with a referenced base (whatever follows: ".clean.jpg", "-page-1.png", "/1.png")?"""
    return any(relative[:length] in bases for length in lengths)


def evidence_orphans_sweep(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete unreferenced evidence files older than `older_than`. Returns how many were deleted."""
    bases = _referenced_bases()  # read before walking: a row committed later has only young files
    lengths = {len(base) for base in bases}
    root = evidence_storage.location
    cutoff = (timezone.now() - older_than).timestamp()
    deleted = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_mtime > cutoff:
                continue
            if _is_referenced(relative, bases, lengths):
                continue
            try:
                os.remove(path)
            except FileNotFoundError:
                continue
            deleted += 1
    if deleted:
        logger.info("evidence: the orphan sweep deleted %s unreferenced file(s)", deleted)
    return deleted

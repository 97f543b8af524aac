"""The audit export (/desk/audit/export/): the evidence access log, the appeals' events, or the staff's
own security events between two moments, as CSV or JSON, streamed.

Rows are read in keyset batches — (created_at, id) after the last row sent, BATCH rows at a time — so
neither the rows nor a database cursor are held for the length of the download: each batch is one
short indexed query, whatever pooler sits in front of PostgreSQL. Times are Beijing time with their
offset. CSV cells are made inert (`csv_safe`); JSON is one array, one object per line, so a cut-off
download fails to parse instead of looking complete."""

import csv
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import Q

from evidence.models import EvidenceAccess
from tickets.events import audit_exported_event
from tickets.models import AppealEvent, StaffSecurityEvent

from .exports import _Echo, _local_iso, csv_safe

logger = logging.getLogger(__name__)

BATCH = 2000
APPELLANT = "appellant"

# what -> the columns of its rows, in order
COLUMNS = {
    "access": ("time", "who", "appeal", "file_kind", "thumbnail", "page", "ip_address"),
    "events": ("time", "appeal", "kind", "actor", "from_state", "to_state", "public", "comment"),
    "staff": ("time", "kind", "actor", "user", "detail", "ip_address"),
}


def _keyset(queryset, fields: tuple[str, ...]) -> Iterator[dict]:
    """Every row of `queryset` in (created_at, id) order, BATCH at a time, as dicts of `fields`."""
    queryset = queryset.order_by("created_at", "id").values("id", "created_at", *fields)
    last = None
    while True:
        page = queryset
        if last is not None:  # `created_at >=` keeps the range on the index; the Q picks up after the last row
            after = Q(created_at__gt=last["created_at"]) | Q(id__gt=last["id"])
            page = page.filter(after, created_at__gte=last["created_at"])
        rows = list(page[:BATCH])
        yield from rows
        if len(rows) < BATCH:
            return
        last = rows[-1]


def audit_access_rows(*, start: datetime, end: datetime) -> Iterator[dict]:
    """Who viewed which evidence file in [start, end): a staff member's user name, or "appellant"."""
    accesses = EvidenceAccess.objects.filter(created_at__gte=start, created_at__lt=end)
    fields = (
        "by_appellant",
        "user__username",
        "evidence__appeal__reference",
        "evidence__kind",
        "thumbnail",
        "page",
        "ip_address",
    )
    for row in _keyset(accesses, fields):
        yield {
            "time": _local_iso(row["created_at"]),
            "who": APPELLANT if row["by_appellant"] else row["user__username"] or "",
            "appeal": row["evidence__appeal__reference"],
            "file_kind": row["evidence__kind"],
            "thumbnail": row["thumbnail"],
            "page": row["page"],
            "ip_address": row["ip_address"],
        }


def audit_event_rows(*, start: datetime, end: datetime) -> Iterator[dict]:
    """Every appeal's events in [start, end), internal notes included."""
    events = AppealEvent.objects.filter(created_at__gte=start, created_at__lt=end)
    fields = ("appeal__reference", "kind", "actor__username", "actor_label", "from_state", "to_state", "public", "comment")
    for row in _keyset(events, fields):
        yield {
            "time": _local_iso(row["created_at"]),
            "appeal": row["appeal__reference"],
            "kind": row["kind"],
            "actor": row["actor__username"] or row["actor_label"],
            "from_state": row["from_state"],
            "to_state": row["to_state"],
            "public": row["public"],
            "comment": row["comment"],
        }


def audit_staff_rows(*, start: datetime, end: datetime) -> Iterator[dict]:
    """Sessions ended everywhere and audit exports in [start, end)."""
    events = StaffSecurityEvent.objects.filter(created_at__gte=start, created_at__lt=end)
    for row in _keyset(events, ("kind", "actor__username", "user__username", "detail", "ip_address")):
        yield {
            "time": _local_iso(row["created_at"]),
            "kind": row["kind"],
            "actor": row["actor__username"] or "",
            "user": row["user__username"] or "",
            "detail": row["detail"],
            "ip_address": row["ip_address"],
        }


AUDIT_ROWS = {"access": audit_access_rows, "events": audit_event_rows, "staff": audit_staff_rows}


def audit_csv_lines(what: str, rows: Iterable[dict]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel on Chinese Windows reads a CSV without a byte-order mark as GB18030
    yield writer.writerow(COLUMNS[what])
    for row in rows:
        yield writer.writerow([csv_safe(row[column]) for column in COLUMNS[what]])


def audit_json_lines(rows: Iterable[dict]) -> Iterator[str]:
    """One JSON array, streamed: an object per line."""
    yield "[\n"
    separator = ""
    for row in rows:
        yield separator + json.dumps(row, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"


def audit_export_record(*, actor, what: str, file_format: str, since, until, ip_address: str | None) -> None:
    """Who exported what: a staff security event (listed by the export itself) and a log line."""
    detail = f"{what} {file_format} {since.isoformat()}..{until.isoformat()}"
    audit_exported_event(actor=actor, detail=detail, ip_address=ip_address)
    logger.info("Audit export by %s (id %s): %s", actor.get_username(), actor.pk, detail)

"""Synthetic appeals for benchmarks and scale tests: bulk inserts, no services, no e-mails."""

import random
import secrets
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .models import REFERENCE_ALPHABET, Appeal, AppealState, AppealType

BATCH = 5000
STATES = [AppealState.SUBMITTED, AppealState.IN_REVIEW, AppealState.ESCALATED, AppealState.PENDING_APPROVAL]
# The columns that differ from row to row (with their PostgreSQL array types); every other column
# takes the model's default.
VARYING = {
    "reference": "text", "appeal_type_id": "bigint", "state": "text", "contact_email": "text",
    "account_identifier": "text", "created_at": "timestamptz", "sla_due_at": "timestamptz",
    "sla_warn_at": "timestamptz",
}


def _columns(*, count: int, due: int, now, rng: random.Random) -> dict[str, list]:
    types = list(AppealType.objects.filter(sla_hours__gte=72)) or list(AppealType.objects.all())
    alphabet = REFERENCE_ALPHABET
    columns: dict[str, list] = {name: [] for name in VARYING}
    for i in range(count + due):
        appeal_type = types[i % len(types)]
        if i < count:  # not due: due in 19..72 h, so the 75 % warning is in the future too
            due_at = now + timedelta(minutes=rng.randint(19 * 60, 72 * 60))
        else:
            due_at = now - timedelta(minutes=rng.randint(1, 60))
        target = timedelta(hours=appeal_type.sla_hours)
        chars = "".join(rng.choices(alphabet, k=8))
        columns["reference"].append(f"AP-{chars[:4]}-{chars[4:]}")
        columns["appeal_type_id"].append(appeal_type.pk)
        columns["state"].append(str(STATES[i % len(STATES)] if i < count else AppealState.IN_REVIEW))
        columns["contact_email"].append(f"bulk{i}@example.com")
        columns["account_identifier"].append(f"bulk_account_{i}")
        columns["created_at"].append(due_at - target)
        columns["sla_due_at"].append(due_at)
        columns["sla_warn_at"].append(due_at - target * 0.25)
    return columns


def _template() -> Appeal:
    return Appeal(letter_background="Generated.", letter_steps_taken="Generated.", letter_request="Generated.")


def _insert_postgres(columns: dict[str, list]) -> int:
    """One INSERT … SELECT FROM unnest(arrays): about a second for 100,000 rows."""
    template = _template()
    select, params = [], []
    fields = [f for f in Appeal._meta.concrete_fields if not f.primary_key]
    for f in fields:
        if f.attname in VARYING:
            select.append(f"v.{connection.ops.quote_name(f.attname)}")
        else:
            select.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(template, True), connection))
    quote = connection.ops.quote_name
    unnest = ", ".join(f"%s::{kind}[]" for kind in VARYING.values())
    names = ", ".join(quote(name) for name in VARYING)
    sql = (
        f"INSERT INTO {quote(Appeal._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"SELECT {', '.join(select)} FROM unnest({unnest}) AS v({names}) ON CONFLICT (reference) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params + [columns[name] for name in VARYING])
        return cursor.rowcount


def _insert_orm(columns: dict[str, list]) -> int:
    count = len(columns["reference"])
    rows = [Appeal(**{name: columns[name][i] for name in VARYING}, **{
        "letter_background": "Generated.", "letter_steps_taken": "Generated.", "letter_request": "Generated.",
    }) for i in range(count)]
    Appeal.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return count


def appeals_generate(*, count: int, due: int = 0, now=None, seed: int | None = None) -> int:
    """`count` open appeals whose SLA is comfortably in the future, plus `due` whose SLA has just
    passed (the ones a sweep must act on). Returns how many rows were inserted."""
    now = now or timezone.now()
    rng = random.Random(seed if seed is not None else secrets.randbits(32))
    columns = _columns(count=count, due=due, now=now, rng=rng)
    return _insert_postgres(columns) if connection.vendor == "postgresql" else _insert_orm(columns)

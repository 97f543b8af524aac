"""Synthetic appeals for benchmarks and scale tests: bulk inserts, no services, no e-mails."""

import random
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import REFERENCE_ALPHABET, Appeal, AppealState, AppealType

BATCH = 5000


def _reference(rng: random.Random) -> str:
    chars = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"AP-{chars[:4]}-{chars[4:]}"


def appeals_generate(*, count: int, due: int = 0, now=None, seed: int | None = None) -> int:
    """`count` open appeals whose SLA is comfortably in the future, plus `due` whose SLA has just
    passed (the ones a sweep must act on). Returns how many rows were inserted."""
    now = now or timezone.now()
    rng = random.Random(seed if seed is not None else secrets.randbits(32))
    types = list(AppealType.objects.filter(sla_hours__gte=72)) or list(AppealType.objects.all())
    states = [AppealState.SUBMITTED, AppealState.IN_REVIEW, AppealState.ESCALATED, AppealState.PENDING_APPROVAL]
    inserted = 0
    total = count + due
    while inserted < total:
        rows = []
        for i in range(inserted, min(total, inserted + BATCH)):
            appeal_type = types[i % len(types)]
            if i < count:  # not due: due in 19..72 h, so the 75 % warning is in the future too
                due_at = now + timedelta(minutes=rng.randint(19 * 60, 72 * 60))
            else:
                due_at = now - timedelta(minutes=rng.randint(1, 60))
            target = timedelta(hours=appeal_type.sla_hours)
            rows.append(Appeal(
                reference=_reference(rng),
                appeal_type=appeal_type,
                state=states[i % len(states)] if i < count else AppealState.IN_REVIEW,
                contact_email=f"bulk{i}@example.com",
                account_identifier=f"bulk_account_{i}",
                letter_background="Generated.", letter_steps_taken="Generated.", letter_request="Generated.",
                created_at=due_at - target,
                sla_due_at=due_at,
                sla_warn_at=due_at - target * 0.25,
            ))
        created = Appeal.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        inserted += len(created)
    return inserted

"""Fraud signals shown to the agent (SPEC §6): the most common attack on a recovery desk is a forged
or re-used identity. Each signal names the other appeals so the agent can compare them."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, Case, DateTimeField, DurationField, F, Func, IntegerField, Q, Value, When
from django.db.models.functions import Greatest, Least
from django.utils.translation import gettext as _

from evidence.models import Evidence
from tickets.models import Appeal

BURST_WINDOW = timedelta(hours=24)
BURST_MIN_OTHERS = 2  # this appeal and two more in 24 h from the same address or e-mail


class HammingDistance(Func):
    """Bits that differ between two 64-bit perceptual hashes (PostgreSQL)."""

    template = "bit_count(CAST((%(expressions)s) AS bit(64)))"
    arg_joiner = " # "
    output_field = IntegerField()


# A signal names at most this many other appeals, the closest first; the rest are counted.
SHOWN_REFERENCES = 3


@dataclass
class FraudSignal:
    kind: str
    message: str
    # The closest few other appeals (same photo: by pHash distance; others: nearest in time), and how
    # many other appeals there are in all.
    references: list[str] = field(default_factory=list)
    count: int = 0

    def __post_init__(self):
        self.count = max(self.count, len(self.references))

    @property
    def more(self) -> int:
        return self.count - len(self.references)


def _same_photo(appeal: Appeal, others) -> tuple[list[str], int]:
    """(the closest few other appeals with the same photo, how many there are): an identical file
    first, then by the smallest pHash distance, then the most recent."""
    mine = [e for e in appeal.evidence.all() if e.sha256]
    if not mine:
        return [], 0
    same = Q(sha256__in={e.sha256 for e in mine})
    hashes = [e.perceptual_hash_bits for e in mine if e.perceptual_hash_bits is not None]
    candidates = Evidence.objects.filter(appeal__in=others)
    if hashes and connection.vendor == "postgresql":
        limit = settings.EVIDENCE_SAME_PHOTO_DISTANCE
        aliases = {
            f"distance_{i}": HammingDistance(F("perceptual_hash_bits"), Value(bits, output_field=BigIntegerField()))
            for i, bits in enumerate(hashes)
        }
        candidates = candidates.alias(**aliases)
        for name in aliases:
            same |= Q(**{f"{name}__lte": limit})
        distance = Least(*(F(name) for name in aliases)) if len(aliases) > 1 else F(next(iter(aliases)))
    elif hashes:
        same |= Q(perceptual_hash__in={e.perceptual_hash for e in mine if e.perceptual_hash})
        distance = Value(0)
    else:
        distance = Value(0)
    identical = Case(When(sha256__in={e.sha256 for e in mine}, then=Value(-1)), default=distance, output_field=IntegerField())
    rows = (
        candidates.filter(same).annotate(closeness=identical).values_list("appeal__reference", "closeness", "appeal__created_at")
    )
    closest: dict[str, tuple] = {}
    for reference, closeness, created in rows:
        key = (closeness if closeness is not None else 64, -created.timestamp())
        closest[reference] = min(closest.get(reference, key), key)
    ordered = sorted(closest, key=lambda ref: (*closest[ref], ref))
    return ordered[:SHOWN_REFERENCES], len(ordered)


def nearest_in_time(appeal: Appeal, matches) -> tuple[list[str], int]:
    """(the few matching appeals filed nearest in time to this one, how many match)."""
    filed = Value(appeal.created_at, output_field=DateTimeField())
    nearest = matches.annotate(gap=Greatest(F("created_at") - filed, filed - F("created_at"), output_field=DurationField()))
    references = list(nearest.order_by("gap", "pk").values_list("reference", flat=True)[:SHOWN_REFERENCES])
    return references, matches.count()


def fraud_signals(appeal: Appeal) -> list[FraudSignal]:
    signals = []
    others = Appeal.objects.exclude(pk=appeal.pk)
    other_accounts = others.exclude(account_identifier__iexact=appeal.account_identifier) if appeal.account_identifier else others

    if appeal.cooling_off_of_id:
        signals.append(
            FraudSignal(
                "cooling_off",
                _("Cooling-off: an appeal of the same type for this account was approved in the last 30 days."),
                [appeal.cooling_off_of.reference],
            )
        )

    photos, count = _same_photo(appeal, other_accounts)
    if photos:
        signals.append(
            FraudSignal(
                "same_photo",
                _("The same photo appears in appeals for other accounts."),
                photos,
                count,
            )
        )

    if appeal.id_number_hmac:
        same_id, count = nearest_in_time(appeal, other_accounts.filter(id_number_hmac=appeal.id_number_hmac))
        if same_id:
            signals.append(
                FraudSignal(
                    "same_id_number",
                    _("The same ID number was given for other accounts."),
                    same_id,
                    count,
                )
            )

    window = Q(created_at__gte=appeal.created_at - BURST_WINDOW, created_at__lte=appeal.created_at + BURST_WINDOW)
    for kind, condition, message in (
        (
            "same_ip",
            Q(submitted_ip=appeal.submitted_ip) if appeal.submitted_ip else None,
            _("Many appeals from the same network address within 24 hours."),
        ),
        (
            "same_email",
            Q(contact_email__iexact=appeal.contact_email),
            _("Many appeals from the same e-mail address within 24 hours."),
        ),
    ):
        if condition is None:
            continue
        burst, count = nearest_in_time(appeal, others.filter(window & condition))
        if count >= BURST_MIN_OTHERS:
            signals.append(FraudSignal(kind, message, burst, count))
    return signals

"""Fraud signals shown to the agent (SPEC §6): the most common attack on a recovery desk is a forged
or re-used identity. Each signal names the other appeals so the agent can compare them."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import BigIntegerField, F, Func, IntegerField, Q, Value
from django.utils.translation import gettext as _

from evidence.models import Evidence

from .models import Appeal

BURST_WINDOW = timedelta(hours=24)
BURST_MIN_OTHERS = 2  # this appeal and two more in 24 h from the same address or e-mail


class HammingDistance(Func):
    """Bits that differ between two 64-bit perceptual hashes (PostgreSQL)."""

    template = "bit_count(CAST((%(expressions)s) AS bit(64)))"
    arg_joiner = " # "
    output_field = IntegerField()


@dataclass
class FraudSignal:
    kind: str
    message: str
    references: list[str] = field(default_factory=list)


def _same_photo(appeal: Appeal, others) -> list[str]:
    mine = [e for e in appeal.evidence.all() if e.sha256]
    if not mine:
        return []
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
    elif hashes:
        same |= Q(perceptual_hash__in={e.perceptual_hash for e in mine if e.perceptual_hash})
    return sorted(set(candidates.filter(same).values_list("appeal__reference", flat=True)))


def fraud_signals(appeal: Appeal) -> list[FraudSignal]:
    signals = []
    others = Appeal.objects.exclude(pk=appeal.pk)
    other_accounts = others.exclude(account_identifier__iexact=appeal.account_identifier) if appeal.account_identifier else others

    if appeal.cooling_off_of_id:
        signals.append(FraudSignal(
            "cooling_off",
            _("Cooling-off: an appeal of the same type for this account was approved in the last 30 days."),
            [appeal.cooling_off_of.reference],
        ))

    photos = _same_photo(appeal, other_accounts)
    if photos:
        signals.append(FraudSignal(
            "same_photo", _("The same photo appears in appeals for other accounts."), photos,
        ))

    if appeal.id_number_hmac:
        same_id = list(other_accounts.filter(id_number_hmac=appeal.id_number_hmac).values_list("reference", flat=True)[:20])
        if same_id:
            signals.append(FraudSignal(
                "same_id_number", _("The same ID number was given for other accounts."), sorted(same_id),
            ))

    window = Q(created_at__gte=appeal.created_at - BURST_WINDOW, created_at__lte=appeal.created_at + BURST_WINDOW)
    for kind, condition, message in (
        ("same_ip", Q(submitted_ip=appeal.submitted_ip) if appeal.submitted_ip else None,
         _("Many appeals from the same network address within 24 hours.")),
        ("same_email", Q(contact_email__iexact=appeal.contact_email),
         _("Many appeals from the same e-mail address within 24 hours.")),
    ):
        if condition is None:
            continue
        burst = list(others.filter(window & condition).values_list("reference", flat=True)[:20])
        if len(burst) >= BURST_MIN_OTHERS:
            signals.append(FraudSignal(kind, message, sorted(burst)))
    return signals

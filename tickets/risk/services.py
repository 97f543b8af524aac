"""The risk score: one number (0-100) per appeal, with the signals that made it and the points each
added, computed when the appeal arrives, when its evidence is processed and when a related appeal
appears. It routes the appeal: the "High risk" queue and, from RISK_HIGH_THRESHOLD, two people to
approve it (Appeal.needs_second_approval). The velocity cap refuses a new appeal before anything is
stored (`appeal_velocity_check`, called by the appeal form, which the API uses too)."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from supportdesk.queueing import delay_on_commit
from tickets.id_numbers import id_number_hmac
from tickets.models import (
    OPEN_STATES,
    RISK_DEFAULT_WEIGHTS,
    Appeal,
    EvidenceKind,
    LoginDeviceRecord,
    RiskSignal,
    RiskWeight,
)
from tickets.reports.fraud import fraud_signals, nearest_in_time

VELOCITY_WINDOW = timedelta(days=30)
VELOCITY_MIN_OTHERS = 2  # the third appeal in 30 days for the same ID number, phone, e-mail or device
# A handheld photo is taken for the appeal: one taken long before it, or after it, does not fit.
HANDHELD_MAX_AGE = timedelta(days=7)
CLOCK_SLACK = timedelta(days=1)  # cameras keep local time, without a zone
EDITING_SOFTWARE = (
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "meitu",
    "美图",
    "醒图",
    "canva",
    "pixelmator",
    "affinity",
    "paint.net",
    "facetune",
    "faceapp",
    "photoscape",
    "polarr",
)
EXIF_TIME_FORMAT = "%Y:%m:%d %H:%M:%S"


def risk_weights() -> dict[str, int]:
    """The points of each signal: the admin's weights, the defaults for any not set there."""
    weights = {str(kind): points for kind, points in RISK_DEFAULT_WEIGHTS.items()}
    weights.update(RiskWeight.objects.values_list("signal", "weight"))
    return weights


REWEIGH_TASK = "tickets.tasks.risk_weights_reapply"  # risk/tasks.py; the name queued messages carry
REWEIGH_BATCH = 1000


def risk_weights_changed() -> None:
    """A supervisor changed a signal's points in the admin: the open appeals' stored scores are
    recomputed with the new weights by a task, after the change commits."""
    delay_on_commit(REWEIGH_TASK)


def risk_weights_reapply(*, batch: int = REWEIGH_BATCH) -> int:
    """Give every open appeal's stored signals their current points, and its score their sum (capped at
    100), in batches of `batch` rows (one read and one UPDATE each). The signals themselves are not
    looked for again: that is `appeal_risk_score`, run as evidence and related appeals change.
    Returns how many scores changed."""
    weights, changed, after = risk_weights(), 0, 0
    while True:
        rows = list(
            Appeal.objects.filter(state__in=OPEN_STATES, pk__gt=after)
            .exclude(risk_signals=[])
            .order_by("pk")
            .only("pk", "risk_score", "risk_signals")[:batch]
        )
        if not rows:
            return changed
        after = rows[-1].pk
        updated = []
        for appeal in rows:
            signals = [{**item, "points": weights.get(item.get("kind"), 0)} for item in appeal.risk_signals]
            signals.sort(key=lambda item: -item["points"])
            score = min(100, sum(item["points"] for item in signals))
            if score != appeal.risk_score or signals != appeal.risk_signals:
                appeal.risk_score, appeal.risk_signals = score, signals
                updated.append(appeal)
        Appeal.objects.bulk_update(updated, ["risk_score", "risk_signals"])
        changed += len(updated)


def _velocity_matches(*, id_hmac: str, phone: str, email: str, device_ids, appeals) -> dict[str, object]:
    """The appeals (of `appeals`) sharing each key, by velocity signal; keys left blank match nothing."""
    matches = {}
    if id_hmac:
        matches[RiskSignal.VELOCITY_ID_NUMBER] = appeals.filter(id_number_hmac=id_hmac)
    if phone:
        matches[RiskSignal.VELOCITY_PHONE] = appeals.filter(contact_phone=phone)
    if email:
        matches[RiskSignal.VELOCITY_EMAIL] = appeals.filter(contact_email__iexact=email)
    device_ids = sorted({d for d in device_ids if d})
    if device_ids:
        named = LoginDeviceRecord.objects.filter(device_id__in=device_ids).values("appeal_id")
        matches[RiskSignal.VELOCITY_DEVICE] = appeals.filter(pk__in=named)
    return matches


def velocity_cap_message(cap: int) -> str:
    return _(
        "At most %(cap)d appeals can be filed in 30 days for the same ID number, phone number, e-mail address "
        "or device, and that limit has been reached: this appeal was not sent. Please follow the appeals "
        "already filed with their tracking links, or try again later."
    ) % {"cap": cap}


def appeal_velocity_check(*, id_number: str, contact_phone: str, contact_email: str, device_ids) -> None:
    """Refuse a new appeal (ValidationError) when RISK_VELOCITY_CAP appeals were filed in the last 30
    days for its ID number, phone, e-mail or a device ID it names. Each count stops at the cap."""
    cap = settings.RISK_VELOCITY_CAP
    recent = Appeal.objects.filter(created_at__gte=timezone.now() - VELOCITY_WINDOW)
    matches = _velocity_matches(
        id_hmac=id_number_hmac(id_number) if len(id_number or "") > 4 else "",
        phone=contact_phone,
        email=contact_email,
        device_ids=device_ids,
        appeals=recent,
    )
    for appeals in matches.values():
        if appeals.values("pk")[:cap].count() >= cap:
            raise ValidationError(velocity_cap_message(cap), code="velocity_cap")


def appeal_velocity_lock(*, id_number: str, contact_phone: str, contact_email: str, device_ids) -> None:
    """`appeal_velocity_check` under transaction-scoped locks on each key the new appeal names (PostgreSQL
    advisory locks, taken in one order so that two submissions cannot deadlock): a concurrent
    submission for the same ID number, phone, e-mail or device waits until this one commits, then
    counts it. Call it in the transaction that creates the appeal. (SQLite, the first-run database,
    writes one transaction at a time.)"""
    if connection.vendor == "postgresql":
        id_hmac = id_number_hmac(id_number) if len(id_number or "") > 4 else ""
        keys = [f"id:{id_hmac}", f"phone:{contact_phone}", f"email:{(contact_email or '').lower()}"]
        keys += [f"device:{device}" for device in device_ids if device]
        locks = sorted({_lock_key(key) for key in keys if not key.endswith(":")})
        if locks:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(key) "
                    "FROM (SELECT key FROM unnest(%s::bigint[]) AS key ORDER BY key) AS ordered",
                    [locks],
                )
    appeal_velocity_check(id_number=id_number, contact_phone=contact_phone, contact_email=contact_email, device_ids=device_ids)


def _lock_key(key: str) -> int:
    """A signed 64-bit advisory lock number for a velocity key, in this application's own space."""
    digest = hashlib.blake2b(f"supportdesk.velocity:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class Found:
    kind: str
    references: list
    count: int = 0
    detail: str = ""


def _velocity(appeal: Appeal, device_ids: list[str]) -> list[Found]:
    around = Q(created_at__gte=appeal.created_at - VELOCITY_WINDOW, created_at__lte=appeal.created_at + VELOCITY_WINDOW)
    others = Appeal.objects.exclude(pk=appeal.pk).filter(around)
    matches = _velocity_matches(
        id_hmac=appeal.id_number_hmac,
        phone=appeal.contact_phone,
        email=appeal.contact_email,
        device_ids=device_ids,
        appeals=others,
    )
    found = []
    for kind, appeals in matches.items():
        references, count = nearest_in_time(appeal, appeals)
        if count >= VELOCITY_MIN_OTHERS:
            found.append(Found(kind, references, count))
    return found


def _photo_signals(appeal: Appeal) -> list[Found]:
    found = []
    filed = timezone.localtime(appeal.created_at).replace(tzinfo=None)
    for evidence in appeal.evidence.all():
        metadata = evidence.photo_metadata or {}
        software = metadata.get("software", "")
        if software and any(name in software.lower() for name in EDITING_SOFTWARE):
            found.append(Found(RiskSignal.PHOTO_EDITED, [], 0, software))
        try:
            taken = datetime.strptime(metadata.get("taken_at", ""), EXIF_TIME_FORMAT)
        except ValueError:
            continue
        too_old = evidence.kind == EvidenceKind.ID_HANDHELD and taken < filed - HANDHELD_MAX_AGE - CLOCK_SLACK
        if taken > filed + CLOCK_SLACK or too_old:
            found.append(Found(RiskSignal.PHOTO_TIME, [], 0, metadata["taken_at"]))
    # One of each kind counts: the first file's detail explains it.
    return list({f.kind: f for f in reversed(found)}.values())


OTHER_CONTACT_WINDOW = timedelta(days=365)


def _other_contact(appeal: Appeal) -> list[Found]:
    """Another appeal for the same account, within a year either way, from a different contact e-mail:
    the owner and someone else claiming one account (the same-photo and same-ID-number signals look
    only at other accounts, so the owner's own leaked photo sent for the owner's account is caught here)."""
    if not appeal.account_identifier:
        return []
    around = Q(created_at__gte=appeal.created_at - OTHER_CONTACT_WINDOW, created_at__lte=appeal.created_at + OTHER_CONTACT_WINDOW)
    others = (
        Appeal.objects.exclude(pk=appeal.pk)
        .filter(around, account_identifier__iexact=appeal.account_identifier)
        .exclude(contact_email__iexact=appeal.contact_email)
    )
    references, count = nearest_in_time(appeal, others)
    return [Found(RiskSignal.OTHER_CONTACT, references, count)] if references else []


def risk_signals_find(appeal: Appeal) -> list[Found]:
    """Every signal present on this appeal (its evidence prefetched helps; it is read once)."""
    found = [Found(s.kind, s.references, s.count) for s in fraud_signals(appeal)]
    devices = list(LoginDeviceRecord.objects.filter(appeal=appeal).values_list("device_id", "ip_address"))
    found += _velocity(appeal, [device_id for device_id, _ip in devices])
    domain = appeal.contact_email.rpartition("@")[2].lower()
    if domain in DISPOSABLE_DOMAINS:
        found.append(Found(RiskSignal.DISPOSABLE_EMAIL, [], 0, domain))
    device_ips = {ip for _device, ip in devices if ip}
    if appeal.submitted_ip and device_ips and appeal.submitted_ip not in device_ips:
        found.append(Found(RiskSignal.ADDRESS_NOT_DEVICE, [], 0, appeal.submitted_ip))
    found += _photo_signals(appeal)
    found += _other_contact(appeal)
    if EvidenceKind.ID_HANDHELD in appeal.appeal_type.required_evidence and not appeal.fresh_photo_code:
        # Filed before codes, or without one: a handheld photo that may be an old, leaked one.
        found.append(Found(RiskSignal.FRESH_PHOTO_CODE_MISSING, []))
    return found


def appeal_risk_score(*, appeal_id: int, related: bool = True) -> Appeal | None:
    """Compute, store and explain the appeal's risk score; then, with `related`, rescore the open
    appeals its signals name (the same ID number, photo, phone, e-mail or device), whose score this
    appeal may have raised. Safe to run again at any time: the score is recomputed from scratch."""
    appeal = Appeal.objects.select_related("cooling_off_of").prefetch_related("evidence").filter(pk=appeal_id).first()
    if appeal is None:
        return None
    weights = risk_weights()
    explained = []
    for signal in risk_signals_find(appeal):
        kind = str(signal.kind)
        explained.append(
            {
                "kind": kind,
                "points": weights.get(kind, 0),
                "references": list(signal.references),
                "count": max(signal.count, len(signal.references)),
                "detail": signal.detail,
            }
        )
    explained.sort(key=lambda item: -item["points"])  # the queue row names the first ones
    appeal.risk_score = min(100, sum(item["points"] for item in explained))
    appeal.risk_signals = explained
    appeal.risk_scored_at = timezone.now()
    # An UPDATE of these three columns only: an agent's service holds the row lock while it changes the
    # appeal, so this waits for it rather than overwriting what it saved.
    Appeal.objects.filter(pk=appeal.pk).update(
        risk_score=appeal.risk_score, risk_signals=appeal.risk_signals, risk_scored_at=appeal.risk_scored_at
    )
    if related:
        references = {reference for item in explained for reference in item["references"]}
        others = Appeal.objects.filter(reference__in=references, state__in=OPEN_STATES).values_list("pk", flat=True)
        for other in others:
            appeal_risk_score(appeal_id=other, related=False)
    return appeal


@dataclass
class RiskLine:
    """One line of the score's explanation, as the console shows it."""

    kind: str
    label: str
    points: int
    references: list
    count: int
    detail: str

    @property
    def more(self) -> int:
        return self.count - len(self.references)


def risk_explanation(appeal: Appeal) -> list[RiskLine]:
    """The stored signals, the most points first, labelled in the reader's language."""
    labels = dict(RiskSignal.choices)
    lines = [
        RiskLine(
            kind=item.get("kind", ""),
            label=str(labels.get(item.get("kind"), item.get("kind", ""))),
            points=item.get("points", 0),
            references=item.get("references", []),
            count=item.get("count", 0),
            detail=item.get("detail", ""),
        )
        for item in appeal.risk_signals or []
    ]
    return sorted(lines, key=lambda line: -line.points)


def risk_is_high(score: int) -> bool:
    return score >= settings.RISK_HIGH_THRESHOLD

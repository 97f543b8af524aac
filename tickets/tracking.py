"""Signed, expiring tracking links: the appellant proves control of the contact e-mail by holding one."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "tickets.tracking-link"


class TrackingLinkInvalid(Exception):
    pass


class TrackingLinkExpired(TrackingLinkInvalid):
    pass


class TrackingLinkRevoked(TrackingLinkExpired):
    """Made before the appellant signed out other devices: it reads as expired (ask for a new one)."""


def tracking_token_make(reference: str, generation: int = 0) -> str:
    """`generation`: the appeal's `tracking_generation` when the link is made (left out while 0, so
    links made before generations existed read as generation 0)."""
    payload = {"r": reference, "g": generation} if generation else {"r": reference}
    return signing.dumps(payload, salt=SALT, compress=True)


@dataclass(frozen=True)
class TrackingLink:
    reference: str
    expires_at: datetime
    generation: int = 0


def tracking_token_open(token: str) -> TrackingLink:
    """The appeal reference the token was made for and when the link stops working; raises
    TrackingLinkExpired / TrackingLinkInvalid."""
    max_age = timedelta(days=settings.TRACKING_LINK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise TrackingLinkExpired from exc
    except signing.BadSignature as exc:
        raise TrackingLinkInvalid from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str):
        raise TrackingLinkInvalid
    generation = payload.get("g", 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise TrackingLinkInvalid
    # The signature checked out, so the timestamp (the middle of `payload:timestamp:signature`) is ours.
    signed_at = datetime.fromtimestamp(signing.b62_decode(token.rsplit(":", 2)[1]), tz=UTC)
    return TrackingLink(reference=payload["r"], expires_at=signed_at + max_age, generation=generation)


def tracking_token_read(token: str) -> str:
    """The appeal reference the token was made for; raises TrackingLinkExpired / TrackingLinkInvalid."""
    return tracking_token_open(token).reference


def tracking_url(reference: str, generation: int = 0) -> str:
    path = reverse("tickets:status", kwargs={"token": tracking_token_make(reference, generation)})
    return f"{settings.SITE_URL}{path}"

"""The fresh-photo code: a short code issued with each appeal form that asks for the handheld photo.

The appellant writes it on paper and holds it with their ID card in that photo, so an old or leaked
handheld photo no longer suffices. The code travels with the form as a signed token (the code, the
appeal type it was issued for and a random form id, timestamped): the server keeps nothing until the
appeal is filed, and a token that was altered, issued for another type's form or too old is refused.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Appeal, EvidenceKind

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: easy to write by hand and to read back from a photo.
FRESH_PHOTO_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
FRESH_PHOTO_CODE_LENGTH = 6
_SALT = "tickets.fresh_photo_code"


class FreshPhotoCodeRefused(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message, self.code = message, code


@dataclass(frozen=True)
class FreshPhotoCode:
    code: str
    token: str
    expires_at: datetime | None


def fresh_photo_code_required(appeal_type) -> bool:
    """The types that ask for the photo of the appellant holding their ID card."""
    return EvidenceKind.ID_HANDHELD in appeal_type.required_evidence


def appeal_needs_code_match(appeal: Appeal) -> bool:
    """Approving it needs the agent's confirmation that the handheld photo shows the appeal's code."""
    return fresh_photo_code_required(appeal.appeal_type)


def fresh_photo_code_issue(*, appeal_type) -> FreshPhotoCode:
    code = "".join(secrets.choice(FRESH_PHOTO_ALPHABET) for _i in range(FRESH_PHOTO_CODE_LENGTH))
    token = signing.dumps({"c": code, "t": appeal_type.code, "f": secrets.token_urlsafe(8)}, salt=_SALT, compress=True)
    expires_at = timezone.now() + timedelta(seconds=settings.FRESH_PHOTO_CODE_MAX_AGE)
    return FreshPhotoCode(code=code, token=token, expires_at=expires_at)


def fresh_photo_code_read(*, token: str, appeal_type) -> str:
    """The code a token carries, if it was issued by us for this type's form and is not too old."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=settings.FRESH_PHOTO_CODE_MAX_AGE)
    except signing.SignatureExpired:
        raise FreshPhotoCodeRefused(
            _("The photo code on this page has expired. Use the new code shown and take the photo holding your ID again."),
            "fresh_photo_code_expired",
        ) from None
    except signing.BadSignature:
        payload = None
    code = payload.get("c") if isinstance(payload, dict) else None
    if not isinstance(code, str) or len(code) != FRESH_PHOTO_CODE_LENGTH:
        raise FreshPhotoCodeRefused(
            _("The photo code was not recognised. Use the new code shown and take the photo holding your ID again."),
            "fresh_photo_code_invalid",
        )
    if payload.get("t") != appeal_type.code:
        raise FreshPhotoCodeRefused(
            _("This photo code was issued for another form. Use the code shown on this form and take the photo again."),
            "fresh_photo_code_other_form",
        )
    # One code, one appeal: a page sent again, or its token replayed, is another form's code. (Within
    # the code's life only: two forms drawing the same code days apart do not meet.)
    since = timezone.now() - timedelta(seconds=settings.FRESH_PHOTO_CODE_MAX_AGE)
    if Appeal.objects.filter(fresh_photo_code=code, created_at__gte=since).exists():
        raise FreshPhotoCodeRefused(
            _("This photo code was already used for an appeal. Use the new code shown and take the photo again."),
            "fresh_photo_code_used",
        )
    return code

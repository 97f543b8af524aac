"""Identity-document numbers: normalised and checked as typed on the form, and matched between
appeals by a keyed hash (the number itself is never stored, only its last four characters)."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

MAINLAND_ID = re.compile(r"^\d{17}[\dX]$")
OTHER_ID = re.compile(r"^[A-Z0-9]{5,32}$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_number_normalise(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "").upper()


def id_number_validate(number: str) -> None:
    """Mainland resident ID (18 characters, with its check character) or another document number."""
    if MAINLAND_ID.match(number):
        total = sum(int(d) * w for d, w in zip(number[:17], ID_WEIGHTS, strict=True))
        if ID_CHECK[total % 11] != number[17]:
            raise ValidationError(
                _("This ID number is not valid: please check each digit (the last one may be X)."),
                code="id_checksum",
            )
    elif not OTHER_ID.match(number):
        raise ValidationError(_("Enter the ID number as printed on the document: letters and digits only."), code="id_format")


def id_number_hmac(normalised: str) -> str:
    """The matching key for an ID number; the number itself is never stored."""
    return salted_hmac("tickets.id-number", normalised, secret=settings.ID_NUMBER_HMAC_KEY, algorithm="sha256").hexdigest()

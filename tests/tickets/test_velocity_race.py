"""The velocity cap holds when appeals for the same person arrive at the same moment: the service counts
again under locks on the appeal's keys, so the form's earlier check cannot be raced past."""

import threading
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation

from evidence.models import Evidence
from tests.concurrency import at_once
from tests.tickets.factories import AppealFactory, submission
from tickets.id_numbers import id_number_hmac
from tickets.models import Appeal, AppealType, LoginDeviceRecord, OutboundEmail
from tickets.services.intake import appeal_submit

ID_NUMBER = "11010519491231002X"


def _submit(appeal_type: AppealType, *, id_number: str, email: str, phone: str = "", device: str = ""):
    return appeal_submit(
        appeal_type=appeal_type,
        fields={"contact_email": email, "contact_phone": phone, "language": "en", "account_identifier": "li_lei"},
        id_number=id_number,
        recharge_rows=[],
        device_rows=[{"seen_at": timezone.now(), "device_model": "P60", "device_id": device}] if device else [],
        files=[],
    )


def _earlier(key: str, count: int) -> None:
    """`count` appeals in the last 30 days sharing `key` with the two new ones (and nothing else)."""
    for appeal in AppealFactory.create_batch(count, contact_email=f"other{count}@example.com" if key != "email" else SAME_EMAIL):
        if key == "id":
            Appeal.objects.filter(pk=appeal.pk).update(id_number_hmac=id_number_hmac(ID_NUMBER))
        elif key == "phone":
            Appeal.objects.filter(pk=appeal.pk).update(contact_phone=SAME_PHONE)
        elif key == "device":
            LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), device_model="P60", device_id=SAME_DEVICE)


SAME_EMAIL, SAME_PHONE, SAME_DEVICE = "same@example.com", "13800138000", "AA:BB:CC:DD:EE:FF"


@override_settings(RISK_VELOCITY_CAP=3)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("key", ["id", "email", "phone", "device"])
def test_two_appeals_sent_at_once_for_the_last_place_under_the_cap_store_only_one(appeal_types, key):
    appeal_type = appeal_types["access_card_unbind"]
    _earlier(key, 2)
    ids = iter(["11010519491231002X", "110105194912310021"])  # different people, unless the key is the ID number

    def send():
        with translation.override("en"):  # the refusal is worded in the language active when it is raised
            try:
                return _submit(
                    appeal_type,
                    id_number=ID_NUMBER if key == "id" else next(ids),
                    email=SAME_EMAIL if key == "email" else f"{threading.get_ident()}@example.com",
                    phone=SAME_PHONE if key == "phone" else "",
                    device=SAME_DEVICE if key == "device" else "",
                ).reference
            except ValidationError as refused:
                return refused.messages

    results = at_once(send, times=2)
    assert len(results) == 2
    stored = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, list)]
    assert len(stored) == 1 and len(refused) == 1
    assert "At most 3 appeals can be filed in 30 days" in refused[0][0]
    assert Appeal.objects.count() == 3


@override_settings(RISK_VELOCITY_CAP=2)
@pytest.mark.django_db(transaction=True)
def test_the_form_shows_the_refusal_when_the_cap_is_reached_between_its_check_and_the_save(
    appeal_types, en_client, evidence_root
):
    """The form checked the cap before another appeal for the same ID number committed: the service's
    count under the lock refuses it, the page says why, and nothing is stored."""
    AppealFactory.create_batch(2, id_number_hmac=id_number_hmac(ID_NUMBER))
    appeal_type = appeal_types["realname_unbind"]
    with mock.patch("tickets.portal.forms.appeal_velocity_check"):  # the form's check ran before the race
        response = en_client.post(reverse("tickets:new", args=[appeal_type.code]), submission(appeal_type, id_number=ID_NUMBER))
    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 2 appeals can be filed in 30 days" in html and "this appeal was not sent" in html
    assert Appeal.objects.count() == 2
    assert Evidence.objects.count() == 0 and OutboundEmail.objects.count() == 0
    assert not any(evidence_root.rglob("*.*"))

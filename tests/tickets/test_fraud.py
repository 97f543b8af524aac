"""Fraud signals on the console: re-used photos, re-used ID numbers, bursts, cooling-off."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory, submission
from tickets.models import Appeal
from tickets.reports.fraud import fraud_signals

pytestmark = pytest.mark.django_db


def file_and_process(client, appeal_types, account: str, **overrides) -> Appeal:
    appeal_type = appeal_types["realname_unbind"]
    data = submission(appeal_type, account_identifier=account, **overrides)
    response = client.post(reverse("tickets:new", args=[appeal_type.code]), data, REMOTE_ADDR=overrides.pop("ip", "127.0.0.1"))
    assert response.status_code == 302
    appeal = Appeal.objects.get(account_identifier=account)
    for evidence in Evidence.objects.filter(appeal=appeal):
        evidence_process(evidence_id=evidence.pk)
    return appeal


def signals_of(appeal) -> dict[str, list[str]]:
    appeal = Appeal.objects.get(pk=appeal.pk)
    return {s.kind: s.references for s in fraud_signals(appeal)}


def test_the_same_photo_in_appeals_for_other_accounts_is_flagged_on_both(en_client, appeal_types):
    photo = files.photo_bytes(900, 600, seed=42)
    first = file_and_process(
        en_client, appeal_types, "account_a", evidence_id_handheld=files.upload("me.jpg", photo, "image/jpeg")
    )
    second = file_and_process(
        en_client, appeal_types, "account_b", evidence_id_handheld=files.upload("selfie.jpg", photo, "image/jpeg")
    )
    assert signals_of(first)["same_photo"] == [second.reference]
    assert signals_of(second)["same_photo"] == [first.reference]

    en_client.force_login(AgentFactory())
    html = en_client.get(reverse("desk:appeal", args=[second.reference])).content.decode()
    assert 'data-signal="same_photo"' in html and f'href="/desk/appeals/{first.reference}/"' in html


def test_a_resized_recompressed_copy_is_still_the_same_photo(client, appeal_types):
    photo = files.photo_bytes(1600, 1200, seed=7)
    smaller = io.BytesIO()
    Image.open(io.BytesIO(photo)).resize((800, 600)).save(smaller, "JPEG", quality=70)
    first = file_and_process(client, appeal_types, "account_a", evidence_id_front=files.upload("a.jpg", photo, "image/jpeg"))
    second = file_and_process(
        client, appeal_types, "account_b", evidence_id_front=files.upload("b.jpg", smaller.getvalue(), "image/jpeg")
    )
    assert (
        Evidence.objects.get(appeal=first, kind="id_front").sha256 != Evidence.objects.get(appeal=second, kind="id_front").sha256
    )
    assert signals_of(second)["same_photo"] == [first.reference]


def test_different_photos_and_the_same_account_are_not_flagged(client, appeal_types):
    first = file_and_process(client, appeal_types, "account_a")
    files_b = {
        f"evidence_{k}": files.jpeg(f"{k}.jpg", seed=100 + i) for i, k in enumerate(("id_front", "id_back", "id_handheld"))
    }
    second = file_and_process(client, appeal_types, "account_b", **files_b)
    assert "same_photo" not in signals_of(second)
    again = file_and_process(client, appeal_types, "ACCOUNT_A")  # the same person filing again: same photos, same account
    assert first.reference not in signals_of(again).get("same_photo", [])


def test_the_same_id_number_for_another_account_is_flagged(client, appeal_types):
    first = file_and_process(client, appeal_types, "account_a")
    second = file_and_process(client, appeal_types, "account_b")
    assert signals_of(second)["same_id_number"] == [first.reference]


def test_many_appeals_from_one_address_or_email_in_24_hours(appeal_types):
    appeals = [AppealFactory(submitted_ip="198.51.100.9", contact_email=f"x{i}@example.com") for i in range(3)]
    assert set(signals_of(appeals[0])["same_ip"]) == {a.reference for a in appeals[1:]}
    same_mail = [AppealFactory(contact_email="Burst@Example.com") for _ in range(2)] + [
        AppealFactory(contact_email="burst@example.com")
    ]
    assert set(signals_of(same_mail[2])["same_email"]) == {a.reference for a in same_mail[:2]}
    lone = AppealFactory(submitted_ip="203.0.113.50")
    assert signals_of(lone) == {}

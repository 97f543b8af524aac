"""factory-boy factories and a builder for valid appeal-form submissions."""

import re
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from tests import files
from tickets.fresh_photo import fresh_photo_code_issue, fresh_photo_code_required
from tickets.models import Appeal, AppealType, EvidenceKind, IdNumberRule

# A mainland resident ID number with a correct check character (the standard's published example).
VALID_ID_NUMBER = "11010519491231002X"
# The code an appeal of a type asking for the handheld photo was issued with its form.
FRESH_PHOTO_CODE = "7KQ4MX"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


def AgentFactory(**kwargs):  # noqa: N802 - reads like the factories it wraps
    return UserFactory(groups=["agents"], **kwargs)


def SupervisorFactory(**kwargs):  # noqa: N802
    return UserFactory(groups=["agents", "supervisors"], **kwargs)


class AppealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appeal

    appeal_type = factory.LazyFunction(lambda: AppealType.objects.get(code="realname_unbind"))
    contact_email = factory.Sequence(lambda n: f"appellant{n}@example.com")
    language = "en"
    account_identifier = factory.Sequence(lambda n: f"user{n:05d}")
    id_number_last4 = "002X"
    letter_background = "I cannot unbind my real-name verification; the app says unbind invalid."
    letter_steps_taken = "Tried the self-service unbind twice."
    letter_request = "Please unbind my real-name verification."
    sla_due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=72))
    sla_warn_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=54))
    fresh_photo_code = factory.LazyAttribute(lambda o: FRESH_PHOTO_CODE if fresh_photo_code_required(o.appeal_type) else "")


def submission(appeal_type: AppealType, **overrides) -> dict:
    """A complete, valid POST body (with files) for the appeal form of this type."""
    data = {
        "contact_email": "li.lei@example.com",
        "contact_phone": "+86 138 0013 8000",
        "language": "en",
        "account_identifier": "lilei_2019",
        "registered_phone": "13800138000",
        "letter_background": "Since 2026-11-01 the app says 'unbind invalid' when I try to unbind.",
        "letter_steps_taken": "Self-service unbind twice; called customer service once.",
        "letter_request": "Please restore control of my account.",
        "id_number": VALID_ID_NUMBER,
    }
    if "new_phone" in appeal_type.required_fields:
        data["new_phone"] = "13900139000"
    if "device_model" in appeal_type.required_fields:
        data["device_model"] = "Huawei Mate 60"
    if {"id_front", "id_back", "id_handheld"} & set(appeal_type.required_evidence):
        data["consent_id_images"] = "on"
    if fresh_photo_code_required(appeal_type):  # the code issued with the form, as the page carries it
        data["fresh_photo_token"] = fresh_photo_code_issue(appeal_type=appeal_type).token
    if appeal_type.id_number_rule == IdNumberRule.LAST4:
        data["id_number"] = "002X"
    for index, kind in enumerate(appeal_type.required_evidence, start=1):
        if kind == EvidenceKind.CARRIER_CERTIFICATE:
            data[f"evidence_{kind}"] = files.upload("certificate.pdf", files.pdf_bytes(), "application/pdf")
        else:
            data[f"evidence_{kind}"] = files.jpeg(f"{kind}.jpg", seed=index)
    if appeal_type.collects_records:
        data.update(records_management(recharge=1, device=1))
        data.update(
            {
                "recharge-0-order_number": "TX20261101001",
                "recharge-0-amount": "68.00",
                "recharge-0-currency": "CNY",
                "recharge-0-paid_at": "2026-11-01T20:15",
                "recharge-0-product": "Game coins",
                "device-0-seen_at": "2026-10-30T08:00",
                "device-0-ip_address": "203.0.113.7",
                "device-0-device_model": "iPhone 15",
                "device-0-device_id": "AA:BB:CC:DD:EE:FF",
                "device-0-location": "Shanghai",
            }
        )
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def records_management(recharge: int, device: int) -> dict:
    return {
        "recharge-TOTAL_FORMS": str(recharge),
        "recharge-INITIAL_FORMS": "0",
        "recharge-MIN_NUM_FORMS": "0",
        "recharge-MAX_NUM_FORMS": "200",
        "device-TOTAL_FORMS": str(device),
        "device-INITIAL_FORMS": "0",
        "device-MIN_NUM_FORMS": "0",
        "device-MAX_NUM_FORMS": "200",
    }


def verify_required_evidence(appeal, *, by) -> None:
    """Give the appeal one verified evidence file of every kind its type requires."""
    from tests.evidence.factories import EvidenceFactory

    for kind in appeal.appeal_type.required_evidence:
        EvidenceFactory(appeal=appeal, kind=kind, verified_at=timezone.now(), verified_by=by)


def appeal_worked_on(*, size: int, agent, supervisor) -> Appeal:
    """An account-recovery appeal as it looks after some work, held by `agent`: `size` evidence files
    (verified by the agent and the supervisor in turn), a refused one and its replacement, `size`
    recharge and login-device records, and `size` internal notes and public replies by both."""
    from tests.evidence.factories import EvidenceFactory
    from tickets.models import AppealEvent, LoginDeviceRecord, RechargeRecord

    appeal = AppealFactory(appeal_type=AppealType.objects.get(code="account_recovery"), state="in_review", assignee=agent)
    paid_at = timezone.now() - timedelta(days=3)
    for i in range(size):
        staff = (agent, supervisor)[i % 2]
        EvidenceFactory(appeal=appeal, kind="id_front", verified_at=timezone.now(), verified_by=staff)
        RechargeRecord.objects.create(appeal=appeal, order_number=f"TX{i:05d}", amount=i + 1, paid_at=paid_at)
        LoginDeviceRecord.objects.create(appeal=appeal, seen_at=paid_at, device_model="iPhone 15")
        AppealEvent.objects.create(appeal=appeal, kind="note", actor=staff, comment=f"Note {i}.", public=False)
        AppealEvent.objects.create(appeal=appeal, kind="reply", actor=staff, comment=f"Reply {i}.", public=True)
    refused = EvidenceFactory(appeal=appeal, kind="id_back", status="rejected", status_reason="Blurred.")
    EvidenceFactory(appeal=appeal, kind="id_back", replaces=refused)
    return appeal


def console_act(client, appeal, action, **data):
    """Take a console action on the appeal as the signed-in `client`, from the state it is in now."""
    response = client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": action, "expected_state": Appeal.objects.get(pk=appeal.pk).state, **data},
        HTTP_ACCEPT_LANGUAGE="en",
        follow=True,
    )
    assert response.status_code == 200
    return response


def status_path(message) -> str:
    """The status page's path in an e-mail sent to the appellant."""
    text = message.get_body(("plain",)).get_content()
    return re.search(r"http://testserver(/appeals/status/\S+/)", text).group(1)

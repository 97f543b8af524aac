"""Demo appeals for a first run, made through the same services as real ones (so each has its
evidence, records, audit trail and e-mails). Development only: see `manage.py seed_demo`."""

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from evidence.processing import evidence_process
from evidence.validation import evidence_sniff
from tickets.fresh_photo import fresh_photo_code_issue, fresh_photo_code_required
from tickets.id_numbers import ID_CHECK, ID_WEIGHTS
from tickets.models import Appeal, AppealType, ReasonCode
from tickets.portal.forms import ID_IMAGE_KINDS, consent_text
from tickets.seed.reason_codes import reason_codes_seed
from tickets.services.agent import appeal_act, appeal_escalate, appeal_reject, appeal_request_info, evidence_set_verified
from tickets.services.appellant import appeal_withdraw
from tickets.services.fulfilment import appeal_fulfilment_report
from tickets.services.intake import appeal_submit

DEMO_DOMAIN = "demo.example.com"


def _card_image(label: str, colour: tuple[int, int, int]) -> SimpleUploadedFile:
    """A stand-in document photo: a coloured card with its label (clearly not a real ID)."""
    image = Image.new("RGB", (960, 600), (235, 238, 242))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((60, 60, 900, 540), radius=36, fill=colour, outline=(40, 40, 40), width=4)
    draw.text((110, 110), f"DEMO · {label}", fill=(255, 255, 255))
    draw.rectangle((110, 200, 330, 460), fill=(255, 255, 255))
    for row in range(5):
        draw.rectangle((380, 220 + row * 50, 820 - row * 40, 240 + row * 50), fill=(250, 250, 250))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"{label}.jpg", buffer.getvalue(), content_type="image/jpeg")


def _demo_id_number(number: int) -> str:
    """A well-formed ID number of its own for each demo appellant (one shared by all would reach the
    velocity cap, and flag every demo appeal as the same person's)."""
    body = f"11010519491231{number:03d}"
    return body + ID_CHECK[sum(int(d) * w for d, w in zip(body, ID_WEIGHTS, strict=True)) % 11]


def _file(appeal_type: AppealType, number: int) -> Appeal:
    kinds = appeal_type.required_evidence
    files = []
    for index, kind in enumerate(kinds):
        uploaded = _card_image(kind, ((30 + 40 * index) % 255, 90, 160))
        files.append((kind, uploaded, evidence_sniff(uploaded)))
    now = timezone.now()
    records = appeal_type.collects_records
    return appeal_submit(
        appeal_type=appeal_type,
        fields={
            "contact_email": f"appellant{number:02d}@{DEMO_DOMAIN}",
            "contact_phone": f"1380013{number:04d}",
            "language": "zh-hans" if number % 3 else "en",
            "account_identifier": "demo_shared_account" if number in (8, 12) else f"demo_user_{number:02d}",
            "registered_phone": f"1390013{number:04d}",
            "new_phone": "13700137000" if "new_phone" in appeal_type.required_fields else "",
            "device_model": "Huawei Mate 60" if "device_model" in appeal_type.required_fields else "",
            "letter_background": "自助解绑时提示“解绑无效”。The self-service unbind says 'unbind invalid'.",
            "letter_steps_taken": "Tried the self-service flow twice and called the hotline once.",
            "letter_request": "Please restore control of the account.",
            **({"consent_id_images_at": now, "consent_text": consent_text()} if set(kinds) & ID_IMAGE_KINDS else {}),
            # The code the demo's handheld photo would show (issued as the form issues it).
            **(
                {"fresh_photo_code": fresh_photo_code_issue(appeal_type=appeal_type).code}
                if fresh_photo_code_required(appeal_type)
                else {}
            ),
        },
        id_number=""
        if appeal_type.id_number_rule == "optional"
        else (_demo_id_number(number)[-4:] if appeal_type.id_number_rule == "last4" else _demo_id_number(number)),
        recharge_rows=[
            {
                "order_number": f"DEMO-{number:04d}",
                "amount": "68.00",
                "currency": "CNY",
                "paid_at": now - timedelta(days=20),
                "product": "月卡",
            }
        ]
        if records
        else [],
        device_rows=[
            {
                "seen_at": now - timedelta(days=3),
                "ip_address": "203.0.113.7",
                "device_model": "iPhone 15",
                "device_id": "AA:BB:CC:DD:EE:FF",
                "location": "上海",
            }
        ]
        if records
        else [],
        files=files,
        ip="127.0.0.1",
    )


def _verify_all(appeal: Appeal, agent) -> None:
    for evidence in appeal.evidence.all():
        # Only processed (ready) files can be verified: process these now instead of waiting for the worker.
        evidence_process(evidence_id=evidence.pk)
        evidence_set_verified(evidence=evidence, actor=agent, verified=True)


def demo_appeals_create(*, agent, supervisor) -> int:
    """A dozen appeals across the workflow's states. Does nothing if demo appeals exist already."""
    if Appeal.objects.filter(contact_email__endswith=f"@{DEMO_DOMAIN}").exists():
        return 0
    types = {t.code: t for t in AppealType.objects.all()}
    reason_codes_seed(ReasonCode)  # the migration seeds them; again, in case they were deleted since
    plan = [
        (1, "realname_unbind", []),
        (2, "phone_rebind", []),
        (3, "emergency_freeze", []),
        (4, "account_recovery", ["claim"]),
        (5, "realname_unbind", ["claim", "request_info"]),
        (6, "account_recovery", ["claim", "verify", "propose_approval"]),
        (7, "phone_rebind", ["claim", "escalate"]),
        # Approved (so released), and the platform could not carry it out: "Fulfilment problems".
        (8, "access_card_unbind", ["claim", "verify", "approve", "fulfilment_failed"]),
        (9, "realname_unbind", ["claim", "reject"]),
        (10, "access_card_unbind", ["withdraw"]),
        (11, "access_card_unbind", ["claim"]),
        (12, "access_card_unbind", []),  # same account as no. 8, approved just now: cooling-off
    ]
    for number, code, steps in plan:
        appeal = _file(types[code], number)
        for step in steps:
            if step == "verify":
                _verify_all(appeal, agent)
            elif step == "withdraw":
                appeal_withdraw(appeal=appeal, comment="Solved it in the app.")
            elif step == "request_info":
                appeal_request_info(
                    appeal=appeal, actor=agent, message="请补充一张更清晰的身份证反面照片。", requested=[("", "id_back_blurred")]
                )
            elif step == "reject":
                appeal_reject(
                    appeal=appeal,
                    actor=agent,
                    reason="The photo holding the ID does not match the ID card.",
                    reason_code="holder_mismatch",
                )
            elif step == "fulfilment_failed":
                appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="Demo: the card is locked by risk control.")
            elif step == "escalate":
                appeal_escalate(appeal=appeal, actor=agent, comment="The carrier certificate looks edited.")
            else:
                # The demo agent has checked the code on the paper in the handheld photo.
                appeal_act(appeal=appeal, actor=agent, action=step, comment="Demo.", code_matches=True)
    return len(plan)

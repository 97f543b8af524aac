"""Seeds the reason codes (a frozen copy of tickets/seed/reason_codes.py as it was then: a migration
imports no live application code)."""

from django.db import migrations

# (code, Chinese label, English label, evidence kind or "", for requests, for rejections)
REASON_CODES = [
    ("id_front_blurred", "身份证正面照片模糊", "The front of the ID card is blurred", "id_front", (True, False)),
    ("id_back_blurred", "身份证反面照片模糊", "The back of the ID card is blurred", "id_back", (True, False)),
    (
        "id_front_cut_off",
        "身份证正面未拍全（四角须完整）",
        "The front of the ID card is cut off (all four corners must show)",
        "id_front",
        (True, False),
    ),
    (
        "id_back_cut_off",
        "身份证反面未拍全（四角须完整）",
        "The back of the ID card is cut off (all four corners must show)",
        "id_back",
        (True, False),
    ),
    (
        "handheld_without_code",
        "手持证件照中没有申诉码",
        "The photo of you holding the ID card does not show the code",
        "id_handheld",
        (True, False),
    ),
    (
        "handheld_face_hidden",
        "手持证件照中面部不清晰或被遮挡",
        "Your face is unclear or hidden in the handheld photo",
        "id_handheld",
        (True, False),
    ),
    ("recharge_unreadable", "充值记录无法辨认", "The recharge record cannot be read", "recharge_record", (True, False)),
    ("device_log_missing", "缺少登录设备记录", "The login device record is missing", "device_log", (True, False)),
    (
        "carrier_certificate_missing",
        "缺少运营商销号证明",
        "The carrier deactivation certificate is missing",
        "carrier_certificate",
        (True, False),
    ),
    ("id_expired", "身份证已过期", "The ID card has expired", "id_back", (True, True)),
    ("name_mismatch", "姓名与账户实名信息不一致", "The name does not match the account's real-name record", "", (True, True)),
    (
        "holder_mismatch",
        "手持证件照中的人与证件不符",
        "The person in the handheld photo is not the ID card's holder",
        "id_handheld",
        (False, True),
    ),
    ("documents_altered", "证件或截图有修改痕迹", "The documents or screenshots show signs of editing", "", (False, True)),
    ("ownership_not_shown", "无法证明您是账户所有人", "Nothing shows that you own the account", "", (False, True)),
    ("duplicate_appeal", "与另一申诉重复", "This appeal repeats another one", "", (False, True)),
    ("other", "其他原因（见说明）", "Other reason (see the explanation)", "", (True, True)),
]


def seed(apps, schema_editor):
    reason_code = apps.get_model("tickets", "ReasonCode")
    for position, (code, label_zh_hans, label_en, kind, (for_requests, for_rejections)) in enumerate(REASON_CODES):
        reason_code.objects.get_or_create(
            code=code,
            defaults={
                "label_zh_hans": label_zh_hans,
                "label_en": label_en,
                "evidence_kind": kind,
                "for_requests": for_requests,
                "for_rejections": for_rejections,
                "position": (position + 1) * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0032_reason_codes")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

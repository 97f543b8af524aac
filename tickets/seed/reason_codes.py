"""The reason codes seeded by migration 0030 (and by the tests after a transactional test's flush):
what agents most often ask again for, and why appeals are most often rejected. Editable in the admin;
seeding is idempotent and leaves edited codes alone."""

REQUEST, REJECTION, BOTH = (True, False), (False, True), (True, True)

# (code, Chinese label, English label, evidence kind or "", (for requests, for rejections))
REASON_CODES = [
    ("id_front_blurred", "身份证正面照片模糊", "The front of the ID card is blurred", "id_front", REQUEST),
    ("id_back_blurred", "身份证反面照片模糊", "The back of the ID card is blurred", "id_back", REQUEST),
    (
        "id_front_cut_off",
        "身份证正面未拍全（四角须完整）",
        "The front of the ID card is cut off (all four corners must show)",
        "id_front",
        REQUEST,
    ),
    (
        "id_back_cut_off",
        "身份证反面未拍全（四角须完整）",
        "The back of the ID card is cut off (all four corners must show)",
        "id_back",
        REQUEST,
    ),
    (
        "handheld_without_code",
        "手持证件照中没有申诉码",
        "The photo of you holding the ID card does not show the code",
        "id_handheld",
        REQUEST,
    ),
    (
        "handheld_face_hidden",
        "手持证件照中面部不清晰或被遮挡",
        "Your face is unclear or hidden in the handheld photo",
        "id_handheld",
        REQUEST,
    ),
    ("recharge_unreadable", "充值记录无法辨认", "The recharge record cannot be read", "recharge_record", REQUEST),
    ("device_log_missing", "缺少登录设备记录", "The login device record is missing", "device_log", REQUEST),
    (
        "carrier_certificate_missing",
        "缺少运营商销号证明",
        "The carrier deactivation certificate is missing",
        "carrier_certificate",
        REQUEST,
    ),
    # The validity period is printed on the back (the national emblem side) of a Chinese ID card.
    ("id_expired", "身份证已过期", "The ID card has expired", "id_back", BOTH),
    ("name_mismatch", "姓名与账户实名信息不一致", "The name does not match the account's real-name record", "", BOTH),
    (
        "holder_mismatch",
        "手持证件照中的人与证件不符",
        "The person in the handheld photo is not the ID card's holder",
        "id_handheld",
        REJECTION,
    ),
    ("documents_altered", "证件或截图有修改痕迹", "The documents or screenshots show signs of editing", "", REJECTION),
    ("ownership_not_shown", "无法证明您是账户所有人", "Nothing shows that you own the account", "", REJECTION),
    ("duplicate_appeal", "与另一申诉重复", "This appeal repeats another one", "", REJECTION),
    ("other", "其他原因（见说明）", "Other reason (see the explanation)", "", BOTH),
]


def reason_codes_seed(reason_code_model) -> int:
    """Create the codes that are missing; leaves edited ones alone. Returns how many were created."""
    created = 0
    for position, (code, label_zh_hans, label_en, kind, (for_requests, for_rejections)) in enumerate(REASON_CODES):
        _obj, was_created = reason_code_model.objects.get_or_create(
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
        created += was_created
    return created

"""Seeds the appeal types of SPEC §2 as they were when this migration was written.

The data is frozen here, not imported from `tickets.appeal_types`: a migration must do the same thing
whenever it runs, whatever the live list has become since (later fields, such as `brief_form`, are
set by the migrations that add them, e.g. 0012).
"""

from django.db import migrations

APPEAL_TYPES = [
    {
        "code": "realname_unbind",
        "name_zh_hans": "解除实名认证",
        "name_en": "Unbind real-name verification",
        "self_help_zh_hans": (
            "在 App 中打开 设置 → 账户与安全 → 实名认证 → 解除实名，按提示完成人脸验证。\n"
            "如果提示“解绑无效”或无法完成人脸验证，请在此提交申诉。\n"
            "请准备：身份证正面、反面，以及手持身份证的照片。"
        ),
        "self_help_en": (
            "In the app, open Settings → Account & security → Real-name verification → Unbind, and complete the face check.\n"
            "If it fails with “unbind invalid” or the face check cannot be completed, file an appeal here.\n"
            "Have ready: the front and back of your ID card and a photo of you holding it."
        ),
        "required_evidence": ["id_front", "id_back", "id_handheld"],
        "required_fields": ["account_identifier"],
        "id_number_rule": "full",
        "sla_hours": 72,
        "risk": "high",
        "position": 10,
    },
    {
        "code": "phone_rebind",
        "name_zh_hans": "更换银行卡绑定手机号",
        "name_en": "Change the phone number bound to a card",
        "self_help_zh_hans": (
            "如果旧手机号仍能收到短信，请在 App 的 银行卡 → 管理 → 修改预留手机号 中自助修改。\n"
            "旧号码已停用时，请先到运营商营业厅开具《销号证明》。\n"
            "请准备：身份证正面、反面，以及运营商销号证明。"
        ),
        "self_help_en": (
            "If the old number still receives text messages, change it yourself under Cards → Manage → Change phone number.\n"
            "If the old number is gone, ask your carrier for a deactivation certificate first.\n"
            "Have ready: the front and back of your ID card and the carrier's deactivation certificate."
        ),
        "required_evidence": ["id_front", "id_back", "carrier_certificate"],
        "required_fields": ["account_identifier", "registered_phone", "new_phone"],
        "id_number_rule": "full",
        "sla_hours": 72,
        "risk": "high",
        "position": 20,
    },
    {
        "code": "access_card_unbind",
        "name_zh_hans": "解绑钱包门禁卡",
        "name_en": "Remove an access card from a wallet",
        "self_help_zh_hans": (
            "在手机钱包中打开该门禁卡 → 更多 → 删除卡片。\n"
            "如果删除失败或卡片在已丢失的设备上，请在此提交申诉。\n"
            "请准备：钱包中该卡片的截图，以及设备型号。"
        ),
        "self_help_en": (
            "In your phone's wallet, open the access card → More → Remove card.\n"
            "If removing fails, or the card is on a device you no longer have, file an appeal here.\n"
            "Have ready: a screenshot of the card in the wallet and the device model."
        ),
        "required_evidence": ["screenshot"],
        "required_fields": ["device_model"],
        "id_number_rule": "optional",
        "sla_hours": 72,
        "risk": "low",
        "position": 30,
    },
    {
        "code": "account_recovery",
        "name_zh_hans": "找回账户控制权（解绑无效）",
        "name_en": "Recover account control after a failed unbind",
        "self_help_zh_hans": (
            "先尝试 设置 → 账户与安全 → 解绑；如果提示“解绑无效”，请在此提交申诉。\n"
            "请准备：身份证正面、反面、手持身份证照片。\n"
            "请至少提供一条充值记录（订单号、金额、时间）和一条登录设备记录（时间、IP、设备型号）。"
        ),
        "self_help_en": (
            "Try Settings → Account & security → Unbind first; if it fails with “unbind invalid”, file here.\n"
            "Have ready: the front and back of your ID card and a photo of you holding it.\n"
            "Give at least one recharge record (order number, amount, time) and one login device record (time, IP, device model)."
        ),
        "required_evidence": ["id_front", "id_back", "id_handheld"],
        "required_fields": ["account_identifier"],
        "id_number_rule": "full",
        "min_recharge_records": 1,
        "min_device_records": 1,
        "sla_hours": 72,
        "risk": "high",
        "position": 40,
    },
    {
        "code": "emergency_freeze",
        "name_zh_hans": "紧急冻结账户",
        "name_en": "Emergency freeze of a compromised account",
        "self_help_zh_hans": (
            "如果您怀疑账户被盗，请先在 App 中修改密码并退出所有设备。\n"
            "无法登录时，请立即在此申请冻结，我们将在 2 小时内处理。\n"
            "请准备：注册手机号，以及身份证号码的后 4 位。"
        ),
        "self_help_en": (
            "If you think your account was taken over, change the password in the app and sign out of all devices first.\n"
            "If you cannot sign in, request a freeze here: we act within 2 hours.\n"
            "Have ready: the registered phone number and the last 4 characters of your ID number."
        ),
        "required_evidence": [],
        "required_fields": ["registered_phone"],
        "id_number_rule": "last4",
        "sla_hours": 2,
        "risk": "urgent",
        "position": 0,
    },
]


def seed(apps, schema_editor):
    """Create the types that are missing; leaves existing ones alone."""
    appeal_type = apps.get_model("tickets", "AppealType")
    for data in APPEAL_TYPES:
        appeal_type.objects.get_or_create(code=data["code"], defaults={k: v for k, v in data.items() if k != "code"})


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

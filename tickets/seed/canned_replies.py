"""Demo canned replies (`seed_demo`), one pair of each in both languages, so that the console's reply box
has something to offer on a first run. Added once: a reply an administrator changed or removed is left so."""

DEMO_CANNED_REPLIES = (
    (
        "en",
        "ID back blurred",
        "Dear {name}, thank you for your appeal {reference}. The photo of the back of your ID card is blurred:"
        " please send a sharp photo of it, taken in good light, by {deadline} (Beijing time).",
    ),
    ("en", "Received, working on it", "Dear {name}, we are working on your appeal {reference} and will answer by {deadline}."),
    (
        "zh-hans",
        "身份证背面模糊",
        "{name} 您好，感谢您提交申诉 {reference}。您上传的身份证背面照片不清晰，请在光线充足处重新拍摄清晰照片，"
        "并于 {deadline}（北京时间）前上传。",
    ),
    ("zh-hans", "已受理，处理中", "{name} 您好，我们正在处理您的申诉 {reference}，将于 {deadline} 前答复您。"),
)


def canned_replies_seed(model) -> int:
    """Creates the demo replies not there yet (by language and title); returns how many it created."""
    created = 0
    for language, title, body in DEMO_CANNED_REPLIES:
        _reply, made = model.objects.get_or_create(language=language, title=title, defaults={"body": body})
        created += made
    return created

"""The development e-mail backend (`make run` without EMAIL_URL).

Django's console backend prints every whole message — HTML part, base64 and encoded-word subjects —
so the one line a developer needs (the acknowledgement's tracking link) is lost in the scroll. This
backend prints ONE readable line per e-mail instead:

    e-mail to appellant@example.com: 我们已收到您的申诉 SD-… | http://127.0.0.1:8000/appeals/status/…/ | var/mail/….eml

and keeps the whole message as an .eml file under DEV_MAIL_DIR (`var/mail/`), which any mail client
opens. The line goes straight to the process's terminal (`sys.__stdout__`): a Celery worker's
`sys.stdout` is a logger, and the logs redact tracking links (supportdesk/logging.py) — on purpose,
but a developer needs this one to follow the appeal. Used only in DEBUG (supportdesk/settings.py).
"""

import re
import sys
import threading
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_URL = re.compile(r"https?://[^\s<>\"']+")
_TRACKING_PATH = "/appeals/status/"


def _link(text: str) -> str:
    """The tracking link in the text if it has one, else its first link, else ''."""
    urls = _URL.findall(text or "")
    return next((url for url in urls if _TRACKING_PATH in url), urls[0] if urls else "")


class DevelopmentEmailBackend(BaseEmailBackend):
    def __init__(self, *args, stream=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.stream = stream
        self.directory = Path(settings.DEV_MAIL_DIR)
        self._lock = threading.Lock()

    def _save(self, message) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.localtime():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}.eml"
        path = self.directory / name
        path.write_bytes(message.message().as_bytes())
        return path

    def _shown(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
        except ValueError:
            return str(path)

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        stream = self.stream or sys.__stdout__ or sys.stdout
        sent = 0
        with self._lock:
            for message in email_messages:
                path = self._save(message)
                subject = " ".join(str(message.subject).split())
                parts = [f"e-mail to {', '.join(message.recipients())}: {subject}"]
                link = _link(message.body)
                if link:
                    parts.append(link)
                parts.append(self._shown(path))
                stream.write(" | ".join(parts) + "\n")
                stream.flush()
                sent += 1
        return sent

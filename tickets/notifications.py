"""The e-mail outbox (SPEC §7).

`outbox_enqueue` renders an e-mail in the recipient's language and writes it to the outbox in the
caller's transaction; delivery is queued only after that transaction commits. `outbox_deliver`
sends one row at most once at a time; `outbox_deliver_pending` is the beat sweep that delivers
anything the broker never got (Redis down at commit time) or that SMTP refused (retried with backoff).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from supportdesk.queueing import delay_on_commit

from .models import Appeal, OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(hours=1)


def outbox_enqueue(*, template: str, to: str, language: str, context: dict, appeal: Appeal | None = None) -> OutboundEmail:
    context = {"site_url": settings.SITE_URL, "appeal": appeal, **context}
    with translation.override(language):
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
        body_text = render_to_string(f"emails/{template}.txt", context)
        body_html = render_to_string(f"emails/{template}.html", context)
    email = OutboundEmail.objects.create(
        appeal=appeal, template=template, to=to, subject=subject, body_text=body_text, body_html=body_html
    )
    from .tasks import email_deliver  # tasks import this module

    delay_on_commit(email_deliver, email.pk)
    return email


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def outbox_deliver(*, email_id: int) -> bool:
    """Send one outbox e-mail if it is still pending. True when this call sent it."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id, status=OutboundEmail.Status.PENDING)
            .first()
        )
        if email is None:  # already sent, given up, or being sent by another worker right now
            return False
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.body_text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[email.to],
            headers={"Message-ID": email.message_id},
        )
        if email.body_html:
            message.attach_alternative(email.body_html, "text/html")
        email.attempts += 1
        try:
            message.send()
        except Exception as exc:  # SMTP refused or unreachable: keep the row, retry later
            email.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboundEmail.Status.FAILED
            email.next_attempt_at = timezone.now() + _backoff(email.attempts)
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("outbox: e-mail %s not delivered (attempt %s): %s", email.pk, email.attempts, email.last_error)
            return False
        email.status = OutboundEmail.Status.SENT
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["attempts", "last_error", "status", "sent_at"])
        return True


def outbox_deliver_pending(*, limit: int = 200) -> int:
    """Deliver what is due. Returns how many e-mails were sent."""
    due = OutboundEmail.objects.filter(
        status=OutboundEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:limit]
    return sum(outbox_deliver(email_id=pk) for pk in list(due))

"""The e-mail outbox (SPEC §7).

`outbox_enqueue` renders an e-mail in the recipient's language and writes it to the outbox in the
caller's transaction; delivery is queued only after that transaction commits. `outbox_deliver_pending`
is the beat sweep that delivers anything the broker never got (Redis down at commit time), that SMTP
refused (retried with backoff), or whose worker died mid-delivery (after the sending lease).

`outbox_deliver` sends one row in three steps, none of which holds a transaction across the SMTP
conversation:
1. the claim: status SENDING, `claimed_at` and a fresh `claim_token`, committed on its own;
2. the SMTP conversation, with the row's stable Message-ID;
3. the result: one single-row UPDATE (guarded by the claim token), committed at once — right after
   the server's 250, before the SMTP connection is even closed — and retried on a new database
   connection if the old one was lost.

The guarantee is *at least once, with a stable Message-ID*. A row is sent twice only if its worker
dies (or the database stays unreachable) between SMTP's 250 and step 3; such a row stays SENDING and
the sweep sends it again, with the same Message-ID, once OUTBOX_SENDING_LEASE_SECONDS have passed —
never while the lease is live.
"""

import logging
import smtplib
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from supportdesk.context_processors import appeal_periods
from supportdesk.queueing import delay_on_commit
from tickets.models import Appeal, OutboundEmail
from tickets.tracking import tracking_url

logger = logging.getLogger(__name__)

DELIVER_TASK = "tickets.tasks.email_deliver"  # outbox/tasks.py; the name queued messages carry
MAX_ATTEMPTS = 10
MAX_BACKOFF = timedelta(hours=1)
# Recording a result after SMTP accepted the message: tries on a new database connection each time.
RECORD_ATTEMPTS = 5


def _render(*, template: str, language: str, context: dict, appeal: Appeal | None) -> dict:
    context = {"site_url": settings.SITE_URL, "appeal": appeal, **appeal_periods(), **context}
    with translation.override(language):
        return {
            "subject": " ".join(render_to_string(f"emails/{template}_subject.txt", context).split()),
            "body_text": render_to_string(f"emails/{template}.txt", context),
            "body_html": render_to_string(f"emails/{template}.html", context),
        }


def outbox_enqueue(*, template: str, to: str, language: str, context: dict, appeal: Appeal | None = None) -> OutboundEmail:
    email = OutboundEmail.objects.create(
        appeal=appeal, template=template, to=to, **_render(template=template, language=language, context=context, appeal=appeal)
    )
    delay_on_commit(DELIVER_TASK, email.pk)
    return email


def appellant_email_enqueue(*, appeal: Appeal, template: str, **context) -> OutboundEmail:
    """An e-mail to the appellant: to the appeal's contact address, in its language, with the tracking
    link to its status page (`tracking_url`) beside `context`."""
    return outbox_enqueue(
        template=template,
        to=appeal.contact_email,
        language=appeal.language,
        appeal=appeal,
        context={"tracking_url": tracking_url(appeal.reference, appeal.tracking_generation), **context},
    )


def _acknowledgement_context(appeal: Appeal) -> dict:
    return {"tracking_url": tracking_url(appeal.reference, appeal.tracking_generation), "evidence": list(appeal.evidence.all())}


# E-mails whose whole context comes from their appeal: the request that causes one writes only the row,
# and the worker renders it when it first claims it for delivery (`_claim`).
RENDERED_BY_WORKER = {"acknowledgement": _acknowledgement_context}


def outbox_enqueue_unrendered(*, template: str, to: str, language: str, appeal: Appeal) -> OutboundEmail:
    """Write an e-mail of RENDERED_BY_WORKER to the outbox without rendering it, and queue nothing: the
    caller queues one task for everything that follows its change, and the outbox sweep delivers the
    row if that task never runs. The row keeps the recipient's language for the worker."""
    if template not in RENDERED_BY_WORKER:
        raise ValueError(f"{template!r} is not rendered by the worker")
    return OutboundEmail.objects.create(appeal=appeal, template=template, to=to, language=language)


def _render_unrendered(email: OutboundEmail) -> list[str]:
    """Render a row written by `outbox_enqueue_unrendered` (once: the text is then stored, so every
    attempt sends the same message). Returns the fields it filled."""
    appeal = email.appeal
    if email.subject or email.template not in RENDERED_BY_WORKER or appeal is None:
        return []
    context = RENDERED_BY_WORKER[email.template](appeal)
    for field, value in _render(
        template=email.template, language=email.language or settings.LANGUAGE_CODE, context=context, appeal=appeal
    ).items():
        setattr(email, field, value)
    return ["subject", "body_text", "body_html"]


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def _lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_SENDING_LEASE_SECONDS)


def _error_summary(exc: Exception) -> str:
    """The error's class and SMTP code(s) only: a server's reply text often echoes the address."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({str(reply[0]) for reply in exc.recipients.values()})
        return f"{name}: {', '.join(codes)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name}: {exc.smtp_code}"
    if isinstance(exc, OSError) and exc.errno:
        return f"{name}: errno {exc.errno}"
    return name


def _claim(*, email_id: int) -> OutboundEmail | None:
    """Take the row for one attempt and commit that before any SMTP is spoken. A row another worker
    holds is skipped; one left SENDING is taken again only after its lease has run out."""
    now = timezone.now()
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=email_id)
            .filter(
                Q(status=OutboundEmail.Status.PENDING) | Q(status=OutboundEmail.Status.SENDING, claimed_at__lte=now - _lease())
            )
            .order_by("pk")
            .first()  # one row by its key: no sort by the default order
        )
        if email is None:  # already sent, given up, or being sent by another worker right now
            return None
        if email.status == OutboundEmail.Status.SENDING:
            logger.warning(
                "outbox: e-mail %s was left sending (attempt %s) by a worker that stopped; sending it again "
                "with the same Message-ID",
                email.pk,
                email.attempts,
            )
        email.status = OutboundEmail.Status.SENDING
        email.claimed_at = now
        email.claim_token = uuid.uuid4()
        email.attempts += 1
        rendered = _render_unrendered(email)
        email.save(update_fields=["status", "claimed_at", "claim_token", "attempts", *rendered])
    return email


def _record(*, email: OutboundEmail, **fields) -> bool:
    """Record an attempt's result as one single-row UPDATE, committed on its own (autocommit). The
    claim token makes it a no-op for a worker whose claim was taken over. A lost database connection
    is retried on a new one, so losing it just after SMTP's 250 does not leave the row looking unsent."""
    update = OutboundEmail.objects.filter(pk=email.pk, status=OutboundEmail.Status.SENDING, claim_token=email.claim_token)
    for attempt in range(1, RECORD_ATTEMPTS):
        try:
            return bool(update.update(**fields))
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block:
                raise
            logger.warning(
                "outbox: e-mail %s: recording the result failed (%s); retrying on a new connection",
                email.pk,
                type(exc).__name__,
            )
            connection.close()
            time.sleep(0.2 * 2**attempt)
    return bool(update.update(**fields))


def _close_quietly(smtp) -> None:
    try:
        smtp.close()
    except Exception:  # noqa: BLE001 - the message was already accepted or refused; a failed QUIT changes nothing
        logger.debug("outbox: closing the SMTP connection failed", exc_info=True)


def outbox_deliver(*, email_id: int) -> bool:
    """Send one outbox e-mail if it is pending (or its sending lease has run out). True when this call
    sent it."""
    email = _claim(email_id=email_id)
    if email is None:
        return False
    if not email.subject:  # written to be rendered from its appeal, which no longer exists
        _record(email=email, status=OutboundEmail.Status.FAILED, last_error="its appeal no longer exists")
        return False
    smtp = get_connection()
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": email.message_id},
        connection=smtp,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        try:
            smtp.open()
            message.send()  # returns on the server's 250 for this message; QUIT comes after the record
        except Exception as exc:  # SMTP refused or unreachable: keep the row, retry later
            error = _error_summary(exc)
            failed = email.attempts >= MAX_ATTEMPTS
            _record(
                email=email,
                status=OutboundEmail.Status.FAILED if failed else OutboundEmail.Status.PENDING,
                last_error=error,
                next_attempt_at=timezone.now() + _backoff(email.attempts),
            )
            logger.warning("outbox: e-mail %s not delivered (attempt %s): %s", email.pk, email.attempts, error)
            return False
        if not _record(email=email, status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""):
            logger.warning("outbox: e-mail %s was sent after its claim had been taken over", email.pk)
        return True
    finally:
        _close_quietly(smtp)


def outbox_deliver_pending(*, limit: int = 200) -> int:
    """Deliver what is due, and what a dead worker left sending past its lease. Returns how many
    e-mails were sent."""
    now = timezone.now()
    due = (
        OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now)
            | Q(status=OutboundEmail.Status.SENDING, claimed_at__lte=now - _lease())
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(outbox_deliver(email_id=pk) for pk in list(due))

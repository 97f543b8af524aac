"""Need-to-know (evidence/access.py): the reasons staff state to see an appeal's evidence files, and
the supervisors' daily digest that lists them.

`evidence_reason_grant` stores the reason, which lets its author see that appeal's files for
EVIDENCE_REASON_GRANT_MINUTES, and writes it on the appeal's timeline (staff only).
`evidence_reason_digest_send` (beat, hourly: `evidence.tasks.evidence_reason_digest`) e-mails every
supervisor, through the outbox, the reasons stated on the previous day (Beijing time), once per day:
the day's `EvidenceReasonDigest` row is written with the e-mails, and a run that finds it sends nothing."""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.events import evidence_reason_stated_event
from tickets.models import Appeal
from tickets.outbox.services import outbox_enqueue
from tickets.roles import SUPERVISORS
from tickets.services.errors import WorkflowError

from .access import evidence_reason_allowed, evidence_seen_without_reason
from .models import EvidenceAccessReason, EvidenceReasonDigest


@transaction.atomic
def evidence_reason_grant(*, appeal: Appeal, user, reason: str) -> EvidenceAccessReason:
    """`reason` was checked by the form (required, at most EVIDENCE_REASON_MAX_CHARS)."""
    if evidence_seen_without_reason(user=user, appeal=appeal):
        raise WorkflowError(_("You already see this appeal's files: no reason is needed."))
    if not evidence_reason_allowed(user=user, appeal=appeal):
        raise WorkflowError(_("This appeal is decided or closed: only supervisors may see its files."))
    now = timezone.now()
    grant = EvidenceAccessReason.objects.create(
        appeal=appeal,
        user=user,
        reason=reason,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.EVIDENCE_REASON_GRANT_MINUTES),
    )
    evidence_reason_stated_event(appeal=appeal, actor=user, reason=reason, expires_at=grant.expires_at)
    return grant


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _supervisor_emails() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, groups__name=SUPERVISORS).exclude(email="")
    return sorted({email.strip().lower() for email in users.values_list("email", flat=True)})


def evidence_reason_digest_send(*, day: date | None = None) -> int:
    """E-mail the supervisors the reasons stated on `day` (default: yesterday, Beijing time), once.
    Returns how many e-mails were written (0: already sent for that day, or no reason that day)."""
    day = day or timezone.localdate() - timedelta(days=1)
    with transaction.atomic():
        # The day's row is the key: a concurrent run waits on its INSERT, then finds it and sends nothing.
        digest, created = EvidenceReasonDigest.objects.get_or_create(day=day)
        if not created:
            return 0
        start, end = _day_bounds(day)
        reasons = list(
            EvidenceAccessReason.objects.filter(created_at__gte=start, created_at__lt=end)
            .select_related("appeal", "user")
            .order_by("created_at", "pk")
        )
        digest.reasons = len(reasons)
        digest.save(update_fields=["reasons"])
        if not reasons:
            return 0
        rows = [
            {
                "reference": item.appeal.reference,
                "state": item.appeal.get_state_display(),
                "user": item.user.get_username() if item.user else "—",
                "reason": item.reason,
                "at": item.created_at,
                "until": item.expires_at,
                "url": f"{settings.SITE_URL}{reverse('desk:appeal', args=[item.appeal.reference])}",
            }
            for item in reasons
        ]
        emails = _supervisor_emails()
        for email in emails:
            outbox_enqueue(
                template="evidence_reason_digest",
                to=email,
                language=settings.LANGUAGE_CODE,
                context={"day": day, "rows": rows, "count": len(rows)},
            )
        return len(emails)

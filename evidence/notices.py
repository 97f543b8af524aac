"""What happens around a file that processing refused: the record of it on the appeal, and the
people who must hear of it — the appellant (who can replace the file from the status page) and the
agent holding the appeal. An unassigned appeal tells no agent: it waits in the queue, and whoever
claims it sees the refusal on the console."""

from django.conf import settings
from django.urls import reverse

from tickets.events import evidence_refused_event
from tickets.notifications import outbox_enqueue
from tickets.tracking import tracking_url


def evidence_assignee_notify(*, evidence, template: str, context: dict | None = None) -> None:
    """E-mail the agent holding the evidence's appeal (in the console's language), if anyone does."""
    appeal = evidence.appeal
    assignee = appeal.assignee
    if assignee is None or not assignee.email:
        return
    console_url = f"{settings.SITE_URL}{reverse('desk:appeal', args=[appeal.reference])}"
    outbox_enqueue(
        template=template,
        to=assignee.email,
        language=settings.LANGUAGE_CODE,
        appeal=appeal,
        context={"evidence": evidence, "console_url": console_url, **(context or {})},
    )


def evidence_refused_record(*, evidence, message: str) -> None:
    """Called inside the processing transaction once `evidence` is marked rejected: the audit row,
    and (through the outbox, so in the same transaction) the e-mails."""
    evidence_refused_event(evidence=evidence, message=message)
    appeal = evidence.appeal
    if not appeal.is_open:
        return  # withdrawn or decided meanwhile: there is nothing to replace the file for
    outbox_enqueue(
        template="evidence_refused",
        to=appeal.contact_email,
        language=appeal.language,
        appeal=appeal,
        context={"tracking_url": tracking_url(appeal.reference), "evidence": evidence, "reason": message},
    )
    evidence_assignee_notify(evidence=evidence, template="evidence_refused_staff", context={"reason": message})

"""Satisfaction: the decision e-mail (approved or rejected) carries a signed link to rate the experience,
1-5 and an optional comment, once per appeal and decision cycle.

The link signs the decision's audit event and the appeal's SLA cycle at the time (django.core.signing,
its own salt) and works for SATISFACTION_LINK_MAX_AGE_DAYS. Opening it changes nothing (mail scanners
open links); the rating row itself, unique per (appeal, cycle), makes it single-use.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from tickets.events import appeal_satisfaction_rated_event
from tickets.models import DECIDED_STATES, Appeal, AppealEvent, SatisfactionRating

SALT = "tickets.satisfaction-link"
# The audit events of a decision (the workflow actions' names, tickets/services/agent.py).
DECISION_KINDS = (AppealEvent.Kind.APPROVE, AppealEvent.Kind.SECOND_APPROVE, AppealEvent.Kind.REJECT)


class SatisfactionLinkInvalid(Exception):
    """Altered, truncated, signed with another salt, or its decision no longer exists."""


class SatisfactionLinkExpired(SatisfactionLinkInvalid):
    """Older than SATISFACTION_LINK_MAX_AGE_DAYS."""


@dataclass(frozen=True)
class SatisfactionLink:
    appeal: Appeal
    decision: AppealEvent
    cycle: int


def satisfaction_token_make(*, decision: AppealEvent, cycle: int) -> str:
    return signing.dumps({"e": decision.pk, "c": cycle}, salt=SALT, compress=True)


def satisfaction_url(*, decision: AppealEvent, cycle: int) -> str:
    path = reverse("tickets:rate", kwargs={"token": satisfaction_token_make(decision=decision, cycle=cycle)})
    return f"{settings.SITE_URL}{path}"


def satisfaction_email_context(*, appeal: Appeal, decision: AppealEvent) -> dict:
    """What a decision e-mail adds to its context: the rating link (nothing for any other action)."""
    if decision.kind not in DECISION_KINDS:
        return {}
    return {"rating_url": satisfaction_url(decision=decision, cycle=appeal.sla_cycle), "rating_days": _max_age().days}


def _max_age() -> timedelta:
    return timedelta(days=settings.SATISFACTION_LINK_MAX_AGE_DAYS)


def satisfaction_link_open(token: str) -> SatisfactionLink:
    """The decision a rating link was made for; raises SatisfactionLinkExpired / SatisfactionLinkInvalid."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=_max_age())
    except signing.SignatureExpired as exc:
        raise SatisfactionLinkExpired from exc
    except signing.BadSignature as exc:
        raise SatisfactionLinkInvalid from exc
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(key), int) and not isinstance(payload.get(key), bool) for key in ("e", "c")
    ):
        raise SatisfactionLinkInvalid
    decision = AppealEvent.objects.select_related("appeal__appeal_type").filter(pk=payload["e"], kind__in=DECISION_KINDS).first()
    if decision is None:  # the appeal was deleted since
        raise SatisfactionLinkInvalid
    return SatisfactionLink(appeal=decision.appeal, decision=decision, cycle=payload["c"])


def satisfaction_rating_for(link: SatisfactionLink) -> SatisfactionRating | None:
    return SatisfactionRating.objects.filter(appeal=link.appeal, cycle=link.cycle).first()


@transaction.atomic
def satisfaction_rate(*, link: SatisfactionLink, score: int, comment: str = "") -> tuple[SatisfactionRating, bool]:
    """Store the appellant's rating once: (the rating, True), or (the one given before, False) when this
    decision was already rated. The appeal row is locked, so two submissions at once store one."""
    if score not in SatisfactionRating.SCORES:
        raise ValueError(f"score must be 1-5, not {score!r}")
    Appeal.objects.select_for_update().filter(pk=link.appeal.pk).first()
    existing = satisfaction_rating_for(link)
    if existing is not None:
        return existing, False
    comment = (comment or "").strip()[: SatisfactionRating.COMMENT_MAX_CHARS]
    rating = SatisfactionRating.objects.create(
        appeal=link.appeal,
        cycle=link.cycle,
        decision_event=link.decision,
        agent_id=link.decision.actor_id,
        outcome=link.decision.to_state,
        score=score,
        comment=comment,
    )
    appeal_satisfaction_rated_event(appeal=link.appeal, score=score, comment=comment)
    return rating, True


def satisfaction_invitation_url(*, appeal: Appeal) -> str:
    """For the status page: the rating link of the appeal's decision while it is decided and not yet
    rated in this cycle ("" otherwise). Reads the decision from the prefetched `public_events` (the
    decision events are public), so it costs one query, and only on a decided appeal."""
    if appeal.state not in DECIDED_STATES:
        return ""
    events = getattr(appeal, "public_events", None)
    if events is None:
        events = list(appeal.events.filter(public=True))
    decision = next((e for e in reversed(events) if e.kind in DECISION_KINDS and e.to_state == appeal.state), None)
    if decision is None or SatisfactionRating.objects.filter(appeal=appeal, cycle=appeal.sla_cycle).exists():
        return ""
    return reverse("tickets:rate", kwargs={"token": satisfaction_token_make(decision=decision, cycle=appeal.sla_cycle)})

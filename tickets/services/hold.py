"""The security hold (SPEC §9): a risky approval is not released to the platform at once.

An approval of a high-risk type, or of an appeal whose risk score reaches RISK_HIGH_THRESHOLD, waits
SECURITY_HOLD_HOURS (SECURITY_HOLD_LONG_HOURS from SECURITY_HOLD_LONG_SCORE, or after an earlier
objection). Meanwhile the account's registered contacts (given by the platform, or the old address
the appellant named) are e-mailed: "someone asked to change your account; if it was not you, stop it
here", with a signed link. An objection stops the release, undoes the approval into the supervisors'
`escalated` queue with a takeover flag (two people decide again) and tells the appellant only that
the review continues. With no objection, the release sweep releases the appeal when its hold ends
(`appeal.released`), reading only what is due (`Appeal.objects.due_for_release`).

Urgent types (emergency freezes) are never held: a freeze protects the owner and must not wait.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from integrations.models import IntegrationEvent
from integrations.webhooks.services import integration_event_record, integration_events_record_bulk
from tickets.events import appeal_held_event, appeal_hold_objection_event, appeal_released_events
from tickets.models import Appeal, AppealState, FulfilmentState, HoldNotice, Risk
from tickets.outbox.services import appellant_email_enqueue, outbox_enqueue

from .fulfilment import appeal_release, staff_recipients

logger = logging.getLogger(__name__)

OBJECTION_SALT = "tickets.hold-objection"
# The link's signature outlives the longest hold: what ends its use is the hold's end (checked in the
# database), the signature's age only bounds a link found years later.
OBJECTION_LINK_MAX_AGE = timedelta(days=30)
OBJECTION_NOTE_MAX_CHARS = 1000
BATCH = 1000
MAX_BATCHES = 50


def hold_hours(appeal: Appeal) -> int:
    """How long this approval is held before its release (0: released at once)."""
    if appeal.appeal_type.risk == Risk.URGENT:
        return 0
    if appeal.takeover_suspected or appeal.risk_score >= settings.SECURITY_HOLD_LONG_SCORE:
        return settings.SECURITY_HOLD_LONG_HOURS
    if appeal.appeal_type.risk == Risk.HIGH or appeal.risk_score >= settings.RISK_HIGH_THRESHOLD:
        return settings.SECURITY_HOLD_HOURS
    return 0


def hold_contacts(appeal: Appeal) -> list[dict]:
    """The registered contacts to tell: the platform's, then the one the appellant named; each e-mail
    address once, never the appellant's own contact address (they are told as the appellant)."""
    seen = {appeal.contact_email.strip().lower()}
    contacts = []
    for contact in appeal.registered_contacts or []:
        if not isinstance(contact, dict) or contact.get("kind") != "email":
            continue  # phone numbers: no channel reaches them yet (SMS comes with its own issue)
        value = str(contact.get("value", "")).strip()
        if not value or value.lower() in seen:
            continue
        seen.add(value.lower())
        source = HoldNotice.Source.APPELLANT if contact.get("source") == "appellant" else HoldNotice.Source.PLATFORM
        contacts.append({"value": value, "source": source, "language": contact.get("language") or appeal.language})
    return contacts


def objection_token_make(notice: HoldNotice) -> str:
    return signing.dumps({"n": notice.pk, "h": notice.hold}, salt=OBJECTION_SALT, compress=True)


def objection_url(notice: HoldNotice) -> str:
    return f"{settings.SITE_URL}{reverse('tickets:hold_objection', kwargs={'token': objection_token_make(notice)})}"


class ObjectionLinkInvalid(Exception):
    """Not a link we made (altered, truncated), or made for a notice that no longer exists."""


class ObjectionLinkExpired(ObjectionLinkInvalid):
    """Older than OBJECTION_LINK_MAX_AGE."""


def objection_notice_read(token: str) -> HoldNotice:
    """The notice the link was sent with (and its appeal); raises ObjectionLinkExpired / ObjectionLinkInvalid."""
    try:
        payload = signing.loads(token, salt=OBJECTION_SALT, max_age=OBJECTION_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise ObjectionLinkExpired from exc
    except signing.BadSignature as exc:
        raise ObjectionLinkInvalid from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("n"), int) or not isinstance(payload.get("h"), int):
        raise ObjectionLinkInvalid
    notice = HoldNotice.objects.select_related("appeal", "appeal__appeal_type").filter(pk=payload["n"]).first()
    if notice is None or notice.hold != payload["h"]:
        raise ObjectionLinkInvalid
    return notice


def _notices_send(appeal: Appeal) -> list[HoldNotice]:
    """Tell each registered contact not yet told of this hold (the caller holds the appeal's lock)."""
    told = set(appeal.hold_notices.filter(hold=appeal.hold_number).values_list("value", flat=True))
    notices = []
    for contact in hold_contacts(appeal):
        if contact["value"] in told:
            continue
        notice = HoldNotice.objects.create(
            appeal=appeal, hold=appeal.hold_number, kind="email", value=contact["value"], source=contact["source"]
        )
        notice.email = outbox_enqueue(
            template="hold_notice",
            to=contact["value"],
            language=contact["language"],
            appeal=appeal,
            context={
                "account": account_masked(appeal.account_identifier),
                "hold_until": appeal.hold_until,
                "filed_at": appeal.created_at,
                "objection_url": objection_url(notice),
            },
        )
        notice.save(update_fields=["email"])
        notices.append(notice)
    return notices


def account_masked(account: str) -> str:
    """Enough of the account for its owner to recognise it, not enough to learn it from the e-mail."""
    account = (account or "").strip()
    if len(account) <= 4:
        return account[:1] + "***" if account else ""
    keep = max(2, len(account) // 4)
    return f"{account[:keep]}***{account[-keep:]}"


def appeal_hold_or_release(*, appeal: Appeal) -> Appeal:
    """The approval's last step, in its transaction (the appeal is locked): hold it and tell the
    registered contacts, or release it to the platform at once."""
    hours = hold_hours(appeal)
    if hours <= 0:
        return appeal_release(appeal=appeal)
    appeal.hold(until=timezone.now() + timedelta(hours=hours))
    appeal.save()
    notices = _notices_send(appeal)
    appeal_held_event(appeal=appeal, notified=len(notices))
    integration_event_record(type=IntegrationEvent.Type.HELD, appeal=appeal)
    return appeal


@transaction.atomic
def appeal_registered_contacts_add(*, appeal: Appeal, contacts: list[dict]) -> tuple[Appeal, int]:
    """The platform gives (more of) the account's registered contacts; during a hold the new ones are
    told at once. Returns the appeal and how many were told now."""
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type").get(pk=appeal.pk)
    known = {(c.get("kind"), str(c.get("value", "")).lower()) for c in appeal.registered_contacts or [] if isinstance(c, dict)}
    added = [c for c in contacts if (c["kind"], c["value"].lower()) not in known]
    if added:
        appeal.registered_contacts = [*(appeal.registered_contacts or []), *added]
        appeal.save(update_fields=["registered_contacts", "updated_at"])
    told = _notices_send(appeal) if appeal.fulfilment == FulfilmentState.HELD else []
    return appeal, len(told)


@dataclass(frozen=True)
class Objection:
    """What the objection link did: `stopped` (this objection stopped the release), `already` (stopped
    before, by this contact or another), or `ended` (the hold is over: the decision took effect)."""

    outcome: str
    appeal: Appeal
    notice: HoldNotice


def objection_link_state(*, appeal: Appeal, notice: HoldNotice) -> str:
    """What the notice's link can do now: `ask` (its hold goes on), `already` (its hold was stopped) or
    `ended` (its hold was released, or a later approval started another hold with links of its own).
    The takeover flag outlives the hold it was raised in, so only the hold's own outcome counts: after
    a hold, the appeal is either released or, stopped, back to not released."""
    if appeal.hold_number != notice.hold:
        return "ended"
    if appeal.fulfilment == FulfilmentState.HELD:
        return "ask"
    if appeal.takeover_suspected and appeal.fulfilment == FulfilmentState.NOT_RELEASED:
        return "already"
    return "ended"


@transaction.atomic
def hold_objection_record(*, notice: HoldNotice, note: str = "", ip: str | None = None) -> Objection:
    """A registered contact says they did not ask for this. Stops the release once; every later use of
    any link for this hold changes nothing more."""
    notice = HoldNotice.objects.select_for_update().get(pk=notice.pk)
    appeal = Appeal.objects.select_for_update(of=("self",)).select_related("appeal_type", "assignee").get(pk=notice.appeal_id)
    state = objection_link_state(appeal=appeal, notice=notice)
    if state != "ask":
        if state == "already" and notice.objected_at is None:  # another contact stopped it: theirs is noted too
            notice.objected_at, notice.objection_note, notice.objection_ip = timezone.now(), note[:OBJECTION_NOTE_MAX_CHARS], ip
            notice.save(update_fields=["objected_at", "objection_note", "objection_ip"])
        return Objection(state, appeal, notice)
    note = (note or "").strip()[:OBJECTION_NOTE_MAX_CHARS]
    from_state = appeal.state
    appeal.escalate_suspected_takeover()
    appeal.stop_release()
    appeal.save()
    notice.objected_at, notice.objection_note, notice.objection_ip = appeal.objected_at, note, ip
    notice.save(update_fields=["objected_at", "objection_note", "objection_ip"])
    appeal_hold_objection_event(appeal=appeal, from_state=from_state, contact=notice.value, note=note)
    integration_event_record(type=IntegrationEvent.Type.HOLD_OBJECTED, appeal=appeal)
    _takeover_alert(appeal=appeal, notice=notice)
    appellant_email_enqueue(appeal=appeal, template="review_continues")
    logger.warning("security hold: %s stopped by a registered contact", appeal.reference)
    return Objection("stopped", appeal, notice)


def _takeover_alert(*, appeal: Appeal, notice: HoldNotice) -> None:
    url = f"{settings.SITE_URL}{reverse('desk:appeal', args=[appeal.reference])}"
    for email in sorted(staff_recipients([appeal])):
        outbox_enqueue(
            template="takeover_alert",
            to=email,
            language=settings.LANGUAGE_CODE,
            appeal=appeal,
            context={"contact": notice.value, "note": notice.objection_note, "url": url},
        )


# --- The release sweep.

TAKEN_FIELDS = ("reference", "state", "fulfilment", "fulfilment_release", "hold_until", "integration_id")


def release_sweep(*, now=None) -> list[str]:
    """Release every held approval whose hold ended by `now`; returns their references.

    Each batch is one transaction: it takes the due rows with FOR UPDATE SKIP LOCKED (a concurrent
    sweep, or an objection in progress, keeps its rows), runs the `release` transition on each in
    memory, writes them with one UPDATE guarded by `fulfilment = 'held'`, their audit events with one
    INSERT and their `appeal.released` events with two more. Running it twice, or twice at once,
    releases each appeal once; a worker killed mid-batch commits nothing, and the next sweep takes
    the same rows."""
    now = now or timezone.now()
    released: list[str] = []
    for _batch in range(MAX_BATCHES):
        taken, done = _release_batch(now)
        released += done
        if taken < BATCH:
            break
    if released:
        logger.info("release sweep: %d released", len(released))
    return released


@transaction.atomic
def _release_batch(now) -> tuple[int, list[str]]:
    due = list(Appeal.objects.due_for_release(now).select_for_update(skip_locked=True, of=("self",)).only(*TAKEN_FIELDS)[:BATCH])
    if not due:
        return 0, []
    stamp = timezone.now()
    releasable = [a for a in due if a.state == AppealState.APPROVED]
    for appeal in releasable:
        appeal.release(at=stamp)  # checks the source (held) and the condition (approved), as everywhere
    ids = [a.pk for a in releasable]
    written = Appeal.objects.filter(pk__in=ids, fulfilment=FulfilmentState.HELD).update(
        fulfilment=FulfilmentState.RELEASED,
        fulfilment_release=F("fulfilment_release") + 1,
        released_at=stamp,
        fulfilment_reported_at=None,
        fulfilment_overdue_at=None,
        updated_at=stamp,
    )
    if written != len(ids):  # impossible under the row locks; never publish what was not written
        raise RuntimeError(f"release sweep wrote {written} of {len(ids)} rows")
    appeal_released_events(appeals=releasable)
    integration_events_record_bulk(type=IntegrationEvent.Type.RELEASED, appeals=releasable)
    return len(due), [a.reference for a in releasable]

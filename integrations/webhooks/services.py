"""Webhooks: integration events delivered to the platforms' subscriptions, signed per Standard Webhooks.

`integration_event_record` writes an `IntegrationEvent` and one `WebhookDelivery` per subscription that
wants it, in the caller's transaction (the change that causes the event), and queues each delivery by
task name after commit. `webhook_deliver` mirrors the e-mail outbox (tickets/outbox/services.py):
1. the claim: status SENDING, `claimed_at` and a fresh `claim_token`, committed on its own;
2. the SSRF check after DNS (guard.py) and one POST to the checked address, with a timeout, no
   redirects, and at most RESPONSE_EXCERPT bytes of the answer read;
3. the result: one single-row UPDATE guarded by the claim token.
A 2xx delivers; anything else is retried after WEBHOOK_RETRY_SCHEDULE (about 28 h), then the delivery
fails. A subscription whose deliveries keep failing is disabled and the administrators are e-mailed.
`webhook_deliver_pending` is the beat sweep: due retries, deliveries the broker never got, and rows a
dead worker left SENDING past WEBHOOK_SENDING_LEASE_SECONDS.

The guarantee is *at least once, with a stable webhook-id* (the event's `message_id`): a receiver
drops the rare duplicate (a worker dying between the 2xx and the UPDATE).
"""

import json
import logging
import time
import uuid
from datetime import timedelta

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from integrations.models import IntegrationEvent, WebhookDelivery, WebhookSubscription, webhook_secret_generate
from supportdesk.queueing import delay_on_commit
from tickets.models import Appeal, AppealReason, AppealState
from tickets.outbox.services import outbox_enqueue

from .guard import DeliveryRefused, pinned_session, url_check

logger = logging.getLogger(__name__)

DELIVER_TASK = "integrations.tasks.webhook_deliver"  # webhooks/tasks.py; the name queued messages carry
PENDING_TASK = "integrations.tasks.webhook_deliver_pending"
RESPONSE_EXCERPT = 1024  # bytes of a receiver's answer read and kept
USER_AGENT = "SupportDesk-Webhooks/1"
DECIDED = (AppealState.APPROVED, AppealState.REJECTED)
Status = WebhookDelivery.Status


# --- The events: what a platform is told, and who is told.


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _rejection_code(appeal: Appeal) -> str | None:
    """The code of the appeal's latest rejection (one query; only rejected appeals ask, and no sweep's
    batch holds rejected appeals)."""
    reasons = AppealReason.objects.filter(appeal_id=appeal.pk, use=AppealReason.Use.REJECTION).order_by("-event_id")
    return reasons.values_list("reason__code", flat=True).first()


def appeal_public_data(*, appeal: Appeal, type_code: str) -> dict:
    """The appeal's public facts: what the appellant could read on their status page, less the
    letter. Never evidence, ID numbers, contacts or internal notes."""
    decided = appeal.state in DECIDED
    return {
        "reference": appeal.reference,
        "appeal_type": type_code,
        "state": appeal.state,
        "account_identifier": appeal.account_identifier,
        "created_at": _iso(appeal.created_at),
        "sla_due_at": _iso(appeal.sla_due_at),  # the time promised to the appellant
        "decision": appeal.state if decided else None,
        "decision_reason": appeal.decision_reason if decided else None,
        # A rejection's reason code (tickets.ReasonCode), stable across languages; null otherwise.
        "decision_reason_code": _rejection_code(appeal) if appeal.state == AppealState.REJECTED else None,
        "decided_at": _iso(appeal.closed_at) if decided else None,
        # Carrying out an approval: not_released, released (awaiting the platform's report), done, failed.
        "fulfilment": appeal.fulfilment,
        "released_at": _iso(appeal.released_at),
        # A held approval is released when its security hold ends, unless a registered contact objects.
        "hold_until": _iso(appeal.hold_until) if appeal.fulfilment == "held" else None,
    }


def _subscriptions_for(*, integration_ids: set, event_type: str) -> dict:
    """The active subscriptions wanting `event_type`, by the appeal's integration id (None: appeals of
    the public form, heard by the integrations that receive them)."""
    if not integration_ids:
        return {}
    scope = Q(integration_id__in=[i for i in integration_ids if i is not None])
    if None in integration_ids:
        scope |= Q(integration__receives_portal_appeals=True)
    found: dict = {key: [] for key in integration_ids}
    subscriptions = WebhookSubscription.objects.filter(scope, is_active=True, integration__is_active=True).select_related(
        "integration"
    )
    for subscription in subscriptions:  # a handful per integration: the type is matched here, on any database
        if not subscription.wants(event_type):
            continue
        if subscription.integration_id in found:
            found[subscription.integration_id].append(subscription)
        if None in found and subscription.integration.receives_portal_appeals:
            found[None].append(subscription)
    return found


def integration_event_record(*, type: str, appeal: Appeal, data: dict | None = None) -> IntegrationEvent:  # noqa: A002 - the catalogue's word
    """Write the event and its deliveries in the caller's transaction; deliver after commit."""
    if data is None:
        data = appeal_public_data(appeal=appeal, type_code=appeal.appeal_type.code)
    event = IntegrationEvent.objects.create(type=type, appeal=appeal, integration_id=appeal.integration_id, data=data)
    subscriptions = _subscriptions_for(integration_ids={appeal.integration_id}, event_type=type)[appeal.integration_id]
    deliveries = WebhookDelivery.objects.bulk_create(WebhookDelivery(event=event, subscription=s) for s in subscriptions)
    for delivery in deliveries:
        delay_on_commit(DELIVER_TASK, delivery.pk)
    return event


def integration_events_record_bulk(*, type: str, appeals: list[Appeal]) -> int:  # noqa: A002
    """`integration_event_record` for a sweep's batch, in a constant number of queries: the appeals'
    public facts in one read, the events in one INSERT, their deliveries in one more; one sweep task
    queued after commit delivers them. Returns how many deliveries were written."""
    if not appeals:
        return 0
    facts = {
        row.pk: row
        for row in Appeal.objects.filter(pk__in=[a.pk for a in appeals])
        .select_related("appeal_type")
        .only(
            "reference",
            "state",
            "account_identifier",
            "created_at",
            "decision_reason",
            "closed_at",
            "integration_id",
            "sla_due_at",
            "fulfilment",
            "released_at",
            "hold_until",
            "appeal_type__code",
        )
        .order_by()
    }
    events = IntegrationEvent.objects.bulk_create(
        IntegrationEvent(
            type=type,
            appeal_id=pk,
            integration_id=row.integration_id,
            data=appeal_public_data(appeal=row, type_code=row.appeal_type.code),
        )
        for pk, row in facts.items()
    )
    subscriptions = _subscriptions_for(integration_ids={e.integration_id for e in events}, event_type=type)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, subscription=subscription)
        for event in events
        for subscription in subscriptions[event.integration_id]
    )
    if deliveries:
        delay_on_commit(PENDING_TASK)
    return len(deliveries)


# --- Delivery.


def _lease() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_SENDING_LEASE_SECONDS)


def _claim(*, delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery for one attempt and commit that before anything is sent. One another worker
    holds is skipped; one left SENDING is taken again only after its lease has run out."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription__integration")
            .filter(pk=delivery_id)
            .filter(Q(status=Status.PENDING) | Q(status=Status.SENDING, claimed_at__lte=now - _lease()))
            .order_by()
            .first()
        )
        if delivery is None:  # delivered, failed for good, or being sent by another worker right now
            return None
        if delivery.status == Status.SENDING:
            logger.warning(
                "webhooks: delivery %s was left sending (attempt %s) by a worker that stopped; sending it again "
                "with the same webhook-id",
                delivery.pk,
                delivery.attempts,
            )
        delivery.status = Status.SENDING
        delivery.claimed_at = now
        delivery.claim_token = uuid.uuid4()
        delivery.attempts += 1
        delivery.save(update_fields=["status", "claimed_at", "claim_token", "attempts"])
    return delivery


def _record(*, delivery: WebhookDelivery, **fields) -> bool:
    """The attempt's result: one single-row UPDATE, a no-op for a worker whose claim was taken over."""
    return bool(
        WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING, claim_token=delivery.claim_token).update(**fields)
    )


def webhook_body(event: IntegrationEvent) -> str:
    """The Standard Webhooks payload, the same bytes at every attempt."""
    payload = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def webhook_headers(*, subscription: WebhookSubscription, msg_id: str, body: str, now=None) -> dict:
    """The Standard Webhooks headers. During a rotation's overlap the previous secret signs too, so a
    receiver holding either secret verifies the delivery."""
    now = now or timezone.now()
    secrets = [subscription.secret]
    if subscription.previous_secret and subscription.previous_secret_expires_at and subscription.previous_secret_expires_at > now:
        secrets.insert(0, subscription.previous_secret)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(msg_id, now, body) for secret in secrets),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def _post(*, subscription: WebhookSubscription, event: IntegrationEvent) -> tuple[int, str]:
    """One POST to the checked address: (status code, the answer's first RESPONSE_EXCERPT bytes)."""
    target = url_check(subscription.url)
    body = webhook_body(event)
    headers = {
        **webhook_headers(subscription=subscription, msg_id=event.message_id, body=body),
        "Host": target.host_header,
    }
    with pinned_session(target) as session:
        response = session.post(
            target.pinned_url,
            data=body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        )
        try:
            excerpt = response.raw.read(RESPONSE_EXCERPT, decode_content=True) or b""
        finally:
            response.close()
    return response.status_code, excerpt.decode("utf-8", "replace")


def _retry_delay(attempts: int) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, None when that attempt was the last."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    return timedelta(seconds=schedule[attempts - 1]) if attempts <= len(schedule) else None


def webhook_deliver(*, delivery_id: int) -> bool:
    """Send one delivery if it is pending (or its sending lease has run out). True when this call
    delivered it (the receiver answered 2xx)."""
    delivery = _claim(delivery_id=delivery_id)
    if delivery is None:
        return False
    subscription = delivery.subscription
    if not (subscription.is_active and subscription.integration.is_active):
        _record(delivery=delivery, status=Status.FAILED, last_error="the subscription or its integration is disabled")
        return False
    code, excerpt, error = None, "", ""
    try:
        code, excerpt = _post(subscription=subscription, event=delivery.event)
    except DeliveryRefused as exc:
        error = f"refused: {exc}"
        logger.warning("webhooks: delivery %s to subscription %s refused: %s", delivery.pk, subscription.pk, exc)
    except requests.RequestException as exc:
        error = type(exc).__name__
    now = timezone.now()
    if code is not None and 200 <= code < 300:
        _record(
            delivery=delivery,
            status=Status.DELIVERED,
            delivered_at=now,
            last_status_code=code,
            response_excerpt=excerpt,
            last_error="",
        )
        WebhookSubscription.objects.filter(
            Q(consecutive_failures__gt=0) | Q(failing_since__isnull=False), pk=subscription.pk
        ).update(consecutive_failures=0, failing_since=None)
        return True
    if code is not None:
        error = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
    delay = _retry_delay(delivery.attempts)
    _record(
        delivery=delivery,
        status=Status.PENDING if delay else Status.FAILED,
        next_attempt_at=now + (delay or timedelta()),
        last_status_code=code,
        response_excerpt=excerpt,
        last_error=error[:255],
    )
    if code is not None or not error.startswith("refused"):  # a refusal was logged as such
        logger.warning(
            "webhooks: delivery %s to subscription %s failed (attempt %s): %s",
            delivery.pk,
            subscription.pk,
            delivery.attempts,
            error,
        )
    _failure_count(subscription=subscription, failed_for_good=delay is None, now=now)
    return False


def _failure_count(*, subscription: WebhookSubscription, failed_for_good: bool, now) -> None:
    """Count a failure against the subscription and disable it once it keeps failing: after
    WEBHOOK_DISABLE_AFTER_FAILURES deliveries in a row failed for good, or WEBHOOK_DISABLE_AFTER_HOURS
    of failures without a success."""
    fields = {"failing_since": now} if subscription.failing_since is None else {}
    if failed_for_good:
        fields["consecutive_failures"] = F("consecutive_failures") + 1
    if fields:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(**fields)
    subscription.refresh_from_db(fields=["consecutive_failures", "failing_since", "is_active"])
    if subscription.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        webhook_subscription_disable(
            subscription=subscription, reason=f"{subscription.consecutive_failures} deliveries in a row failed"
        )
    elif subscription.failing_since and now - subscription.failing_since >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS):
        webhook_subscription_disable(
            subscription=subscription, reason=f"failing without a success for {settings.WEBHOOK_DISABLE_AFTER_HOURS} h"
        )


def webhook_deliver_pending(*, limit: int = 500) -> int:
    """Deliver what is due, and what a dead worker left sending past its lease, oldest due first, until
    WEBHOOK_SWEEP_BUDGET_SECONDS have passed. Returns how many were delivered."""
    now = timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    due += (
        WebhookDelivery.objects.filter(status=Status.SENDING, claimed_at__lte=now - _lease())
        .order_by("claimed_at")
        .values_list("pk", flat=True)[:limit]
    )
    deadline = time.monotonic() + settings.WEBHOOK_SWEEP_BUDGET_SECONDS
    delivered = 0
    for pk in due:
        if time.monotonic() > deadline:  # the next sweep takes the rest
            break
        delivered += webhook_deliver(delivery_id=pk)
    return delivered


# --- The administrators' actions (the admin calls these).


def _administrator_emails() -> list[str]:
    users = get_user_model().objects.filter(is_active=True, is_superuser=True).exclude(email="")
    return sorted({u.email.strip().lower() for u in users})


@transaction.atomic
def webhook_subscription_disable(*, subscription: WebhookSubscription, reason: str) -> bool:
    """Stop delivering to a subscription that keeps failing: its waiting deliveries fail (the admin
    can send them again), and each administrator is e-mailed once. False if it was already disabled."""
    now = timezone.now()
    if not WebhookSubscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=reason[:255]
    ):
        return False
    WebhookDelivery.objects.filter(subscription=subscription, status=Status.PENDING).update(
        status=Status.FAILED, last_error="the subscription was disabled"
    )
    subscription.refresh_from_db()
    logger.warning("webhooks: subscription %s disabled: %s", subscription.pk, reason)
    for email in _administrator_emails():
        outbox_enqueue(
            template="webhook_disabled_staff",
            to=email,
            language=settings.LANGUAGE_CODE,
            context={
                "subscription": subscription,
                "integration": subscription.integration.name,
                "reason": reason,
                "admin_url": f"{settings.SITE_URL}/admin/integrations/webhooksubscription/{subscription.pk}/change/",
            },
        )
    return True


def webhook_subscription_enable(*, subscription: WebhookSubscription) -> None:
    """Deliver to the subscription again, its failure count cleared."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0, failing_since=None
    )


def webhook_secret_rotate(*, subscription: WebhookSubscription) -> str:
    """A new secret, returned to be shown once; the previous one keeps signing for
    WEBHOOK_SECRET_OVERLAP_HOURS, so the receiver can switch without losing a delivery."""
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        subscription.secret = webhook_secret_generate()
        subscription.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret"])
    return subscription.secret


def webhook_delivery_resend(*, delivery: WebhookDelivery) -> bool:
    """Send a delivered or failed delivery again (same webhook-id, a fresh retry schedule). False when
    it is pending or being sent already."""
    with transaction.atomic():
        sent_again = WebhookDelivery.objects.filter(pk=delivery.pk, status__in=[Status.DELIVERED, Status.FAILED]).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), claim_token=None
        )
        if sent_again:
            delay_on_commit(DELIVER_TASK, delivery.pk)
    return bool(sent_again)

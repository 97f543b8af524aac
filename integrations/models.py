"""The platforms that connect to SupportDesk (SPEC: the platform integration): each `Integration` holds
API keys, each with its scopes and rate limit. Keys are stored hashed by djangorestframework-api-key
(shown once, recognised by their prefix, revocable); staff sessions never authorise the API."""

import base64
import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey


class Scope(models.TextChoices):
    APPEALS_WRITE = "appeals:write", _("File appeals")
    APPEALS_READ = "appeals:read", _("Read appeals and their events")
    FULFILMENT_WRITE = "fulfilment:write", _("Report fulfilment")


class Integration(models.Model):
    """A platform (a payment app, a bank, a top-up platform) that files appeals and hears of decisions."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    # A deployment for one platform lets it hear of appeals filed on the public form too.
    receives_portal_appeals = models.BooleanField(
        _("receives events of appeals filed on the public form"),
        default=False,
        help_text=_("Otherwise only appeals this integration filed through the API."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")

    def __str__(self) -> str:
        return self.name


class IntegrationAPIKey(AbstractAPIKey):
    """One API key of an integration: the library stores its prefix and a hash, never the key."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("integration"))
    scopes = models.JSONField(
        _("scopes"), default=list, blank=True, help_text=_("Any of: appeals:write, appeals:read, fulfilment:write.")
    )
    rate_limit = models.CharField(
        _("rate limit"), max_length=20, default="120/min", help_text=_("Requests per second, minute, hour or day, e.g. 120/min.")
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyRecord(models.Model):
    """A POST an integration sent with an `Idempotency-Key`: a hash of what it sent and the answer it got.
    A retry with the same key and the same request gets the first answer and creates nothing; the same
    key with another request is refused (422). Keyed by integration, not by API key, so a retry still
    matches across a key rotation. The unique constraint makes two concurrent first attempts wait for
    each other: the second sees the first's committed answer."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="idempotency_records")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "key"], name="idempotency_key_unique")]
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")

    def __str__(self) -> str:
        return f"{self.integration_id} {self.key}"


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class IntegrationEvent(models.Model):
    """One event of the catalogue, written in the transaction of the change that caused it: polled
    through the API (`/api/v1/events/?after=…`, keyset on id) and delivered to every subscribed webhook.
    `message_id` is the Standard Webhooks `webhook-id`: the same for every attempt and subscription,
    so a receiver drops the rare duplicate."""

    class Type(models.TextChoices):
        SUBMITTED = "appeal.submitted", _("Appeal submitted")
        INFO_REQUESTED = "appeal.info_requested", _("Information requested")
        DECIDED = "appeal.decided", _("Appeal decided")
        HELD = "appeal.held", _("Approval held (security hold)")
        HOLD_OBJECTED = "appeal.hold_objected", _("Release stopped by a registered contact")
        RELEASED = "appeal.released", _("Decision released to the platform")
        WITHDRAWN = "appeal.withdrawn", _("Appeal withdrawn")
        FULFILMENT_OVERDUE = "appeal.fulfilment_overdue", _("Fulfilment overdue")
        SLA_BREACHED = "sla.breached", _("SLA breached")

    message_id = models.CharField(max_length=40, unique=True, default=_message_id, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=Type.choices)
    appeal = models.ForeignKey("tickets.Appeal", on_delete=models.CASCADE, related_name="integration_events")
    # Whose appeal it is: the integration that filed it (None: filed on the public form).
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    # The Standard Webhooks payload's `data`: the appeal's public facts, never evidence or ID numbers.
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name = _("integration event")
        verbose_name_plural = _("integration events")

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class WebhookSubscription(models.Model):
    """Where an integration hears of events: a URL, the event types it wants, and the secret its
    deliveries are signed with. During a rotation the previous secret signs too, until it expires."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="webhook_subscriptions", verbose_name=_("integration")
    )
    url = models.URLField(_("URL"), max_length=500, help_text=_("HTTPS; it must resolve to a public address."))
    event_types = models.JSONField(_("event types"), default=list)
    secret = models.CharField(max_length=100, default=webhook_secret_generate, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(_("previous secret valid until"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("why it was disabled"), max_length=255, blank=True, editable=False)
    # Deliveries that failed for good since the last success, and when the failures began.
    consecutive_failures = models.PositiveIntegerField(_("consecutive failed deliveries"), default=0, editable=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["integration_id", "id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.url}"

    def wants(self, event_type: str) -> bool:
        return event_type in self.event_types


class WebhookDelivery(models.Model):
    """One event for one subscription, written with the event: delivered until the receiver answers
    2xx, claimed for each attempt like the e-mail outbox (tickets/outbox/services.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(IntegrationEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    response_excerpt = models.CharField(_("response (excerpt)"), max_length=1024, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once")]
        indexes = [
            # The sweep reads the due end of these and stops: an idle sweep reads no rows.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=models.Q(status="pending")),
            models.Index(fields=["claimed_at"], name="webhook_delivery_sending", condition=models.Q(status="sending")),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id} ({self.status})"

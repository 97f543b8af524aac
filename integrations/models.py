"""The platforms that connect to SupportDesk (SPEC: the platform integration): each `Integration` holds
API keys, each with its scopes and rate limit. Keys are stored hashed by djangorestframework-api-key
(shown once, recognised by their prefix, revocable); staff sessions never authorise the API."""

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

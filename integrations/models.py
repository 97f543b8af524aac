"""The platforms that connect to SupportDesk (SPEC: the platform integration): each `Integration` holds
API keys, each with its scopes and rate limit. Keys are stored hashed by djangorestframework-api-key
(shown once, recognised by their prefix, revocable); staff sessions never authorise the API."""

from django.db import models
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

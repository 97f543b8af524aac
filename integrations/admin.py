"""Integrations and their API keys. A key is shown once, when it is created (djangorestframework-api-key's
admin); only its prefix and a hash are stored. Rotation: issue a new key, deploy it, revoke the old one."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from supportdesk.admin_mixins import ViewOnlyAdminMixin

from .models import Integration, IntegrationAPIKey, IntegrationEvent, Scope, WebhookDelivery, WebhookSubscription
from .webhooks.guard import DeliveryRefused, url_check
from .webhooks.services import webhook_delivery_resend, webhook_secret_rotate, webhook_subscription_enable

RATE_PERIODS = ("s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day")

ROTATION_HELP = _(
    "The key is shown once, when it is created: store it in the platform's secret store. To rotate a key, "
    "issue a new key for the same integration, deploy it on the platform, then revoke the old one (revoking "
    "cannot be undone; the old key stops working at once). Retries with an Idempotency-Key still match across "
    "a rotation."
)

# The library's own key model is not used: every key belongs to an integration.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


class IntegrationAPIKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = IntegrationAPIKey
        fields = ["integration", "name", "scopes", "rate_limit", "expiry_date", "revoked"]

    def clean_rate_limit(self) -> str:
        rate = self.cleaned_data["rate_limit"].strip()
        number, _slash, period = rate.partition("/")
        if not (number.isdigit() and int(number) > 0 and period in RATE_PERIODS):
            raise ValidationError(_("A number of requests per s, min, hour or day, e.g. 120/min."))
        return rate


@admin.register(IntegrationAPIKey)
class IntegrationAPIKeyAdmin(APIKeyModelAdmin):
    form = IntegrationAPIKeyForm
    list_display = ("prefix", "name", "integration", "scopes", "rate_limit", "created", "expiry_date", "_has_expired", "revoked")
    list_filter = ("integration", "revoked", "created")
    search_fields = ("name", "prefix", "integration__name")
    list_select_related = ("integration",)
    actions = ["revoke"]
    fieldsets = (
        (
            None,
            {"fields": ["integration", "name", "scopes", "rate_limit", "expiry_date", "revoked"], "description": ROTATION_HELP},
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "integration") if obj is not None else fields

    def get_changeform_initial_data(self, request):
        return {**super().get_changeform_initial_data(request), "scopes": [Scope.APPEALS_WRITE, Scope.APPEALS_READ]}

    @admin.action(description=_("Revoke the selected API keys"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked=False).update(revoked=True)
        messages.success(request, _("%(count)d API key(s) revoked.") % {"count": count})

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: a deleted key would leave no trace of who filed what


class IntegrationAPIKeyInline(admin.TabularInline):
    """The integration's keys, read-only: a key is issued from its own page, where it is shown once."""

    model = IntegrationAPIKey
    extra = 0
    can_delete = False
    fields = ("prefix", "name", "scopes", "rate_limit", "created", "expiry_date", "revoked")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "receives_portal_appeals", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    inlines = [IntegrationAPIKeyInline]
    readonly_fields = ("issue_key",)

    @admin.display(description=_("API keys"))
    def issue_key(self, obj) -> str:
        if obj is None or obj.pk is None:
            return _("Save the integration first, then issue its keys.")
        url = reverse("admin:integrations_integrationapikey_add") + f"?integration={obj.pk}"
        return format_html('<a href="{}">{}</a><p class="help">{}</p>', url, _("Issue a new API key"), ROTATION_HELP)


# --- Webhooks: subscriptions (secret shown once, rotation), the delivery log, "send again". ---------


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(
        label=_("URL"), max_length=500, assume_scheme="https", help_text=_("HTTPS; it must resolve to a public address.")
    )
    event_types = forms.MultipleChoiceField(
        label=_("event types"), choices=IntegrationEvent.Type.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ["integration", "url", "event_types"]

    def clean_url(self):
        """The delivery-time check, now: https and a public address after DNS (or the allow-list)."""
        url = self.cleaned_data["url"]
        try:
            url_check(url)
        except DeliveryRefused as exc:
            raise ValidationError(_("This URL cannot receive webhooks: %(reason)s.") % {"reason": exc}) from exc
        return url


def _show_secret(request, subscription: WebhookSubscription, secret: str) -> None:
    messages.warning(
        request,
        _("Signing secret of %(url)s (shown this once; keep it now): %(secret)s") % {"url": subscription.url, "secret": secret},
    )


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ["url", "integration", "is_active", "disabled_reason", "consecutive_failures", "failing_since", "created_at"]
    list_filter = ["is_active", "integration"]
    list_select_related = ["integration"]
    readonly_fields = [
        "is_active",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
    ]
    actions = ["rotate_secret", "enable"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            _show_secret(request, obj, obj.secret)

    @admin.action(description=_("Rotate the signing secret (the old one stays valid during the overlap)"))
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            _show_secret(request, subscription, webhook_secret_rotate(subscription=subscription))

    @admin.action(description=_("Enable again (clears the failure count)"))
    def enable(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_enable(subscription=subscription)
        self.message_user(request, _("Enabled again."))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """The delivery log: read-only; "send again" goes through the service."""

    list_display = [
        "id",
        "event_type",
        "webhook_id",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "subscription"]
    search_fields = ["event__message_id"]
    actions = ["send_again"]
    readonly_fields = [
        "event",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_status_code",
        "last_error",
        "response_excerpt",
        "created_at",
        "delivered_at",
    ]

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="webhook-id")
    def webhook_id(self, delivery):
        return delivery.event.message_id

    @admin.action(description=_("Send again"))
    def send_again(self, request, queryset):
        count = sum(webhook_delivery_resend(delivery=delivery) for delivery in queryset)
        self.message_user(
            request,
            ngettext("%(count)d delivery will be sent again.", "%(count)d deliveries will be sent again.", count)
            % {"count": count},
        )

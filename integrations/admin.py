"""The integrations' admin."""

# --- Webhooks: subscriptions (secret shown once, rotation), the delivery log, "send again". ---------
# (A block of its own: the admin of integrations and their API keys lives above it.)

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.models import IntegrationEvent, WebhookDelivery, WebhookSubscription
from integrations.webhooks.guard import DeliveryRefused, url_check
from integrations.webhooks.services import webhook_delivery_resend, webhook_secret_rotate, webhook_subscription_enable


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
class WebhookDeliveryAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again"))
    def send_again(self, request, queryset):
        count = sum(webhook_delivery_resend(delivery=delivery) for delivery in queryset)
        self.message_user(
            request,
            ngettext("%(count)d delivery will be sent again.", "%(count)d deliveries will be sent again.", count)
            % {"count": count},
        )

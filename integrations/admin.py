"""Integrations and their API keys. A key is shown once, when it is created (djangorestframework-api-key's
admin); only its prefix and a hash are stored. Rotation: issue a new key, deploy it, revoke the old one."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from .models import Integration, IntegrationAPIKey, Scope

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

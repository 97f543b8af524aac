from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from evidence.models import Evidence
from supportdesk.client import client_ip
from supportdesk.two_factor.services import second_factor_reset

from .assignment.services import agent_profile_save
from .models import (
    AgentProfile,
    Appeal,
    AppealEvent,
    AppealType,
    CannedReply,
    HoldNotice,
    LoginDeviceRecord,
    OutboundEmail,
    RechargeRecord,
    RiskWeight,
    StaffOIDCLink,
)
from .reference import agents_queryset
from .risk.services import risk_weights_changed
from .services.errors import WorkflowError
from .services.legal_hold import appeal_legal_hold_set
from .services.staff_sessions import staff_sign_out_everywhere


@admin.register(AppealType)
class AppealTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh_hans", "name_en", "risk", "sla_hours", "is_active", "position")
    list_editable = ("is_active", "position")
    search_fields = ("code", "name_zh_hans", "name_en")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RechargeRecordInline(ReadOnlyInline):
    model = RechargeRecord


class LoginDeviceRecordInline(ReadOnlyInline):
    model = LoginDeviceRecord


class EvidenceInline(ReadOnlyInline):
    model = Evidence
    fields = (
        "kind",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "perceptual_hash",
        "status",
        "status_reason",
        "verified_at",
        "purged_at",
        "created_at",
    )
    readonly_fields = fields


class AppealEventInline(ReadOnlyInline):
    model = AppealEvent
    fields = ("created_at", "kind", "actor", "actor_label", "from_state", "to_state", "public", "comment")
    readonly_fields = fields


class HoldNoticeInline(ReadOnlyInline):
    model = HoldNotice
    fields = ("hold", "kind", "value", "source", "created_at", "objected_at", "objection_note")
    readonly_fields = fields


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    """Appeals are read-only here: their state changes only through the workflow's services. The legal
    hold is edited in the change form, and saved by its service (`save_model`)."""

    list_display = ("reference", "appeal_type", "state", "contact_email", "sla_due_at", "legal_hold", "created_at")
    list_filter = ("state", "appeal_type", "fulfilment", "takeover_suspected", "legal_hold")
    search_fields = ("reference", "contact_email", "account_identifier", "registered_phone")
    date_hierarchy = "created_at"
    list_select_related = ("appeal_type",)
    exclude = ("id_number_hmac", "id_number_last4")
    inlines = [RechargeRecordInline, LoginDeviceRecordInline, EvidenceInline, HoldNoticeInline, AppealEventInline]
    # Only the legal hold can be changed here; everything else moves through the workflow.
    EDITABLE = ("legal_hold", "legal_hold_reason")

    def get_readonly_fields(self, request, obj=None):
        names = [f.name for f in Appeal._meta.fields if f.name not in self.EDITABLE and f.name not in self.exclude]
        return ["id_number_masked", *names]

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj):
        return obj.id_number_masked

    def save_model(self, request, obj, form, change):
        """Nothing is written here: a changed legal hold goes through `appeal_legal_hold_set`, which
        locks the appeal and records the change on its timeline."""
        if not change or not {"legal_hold", "legal_hold_reason"} & set(form.changed_data):
            return
        on, reason = form.cleaned_data["legal_hold"], form.cleaned_data["legal_hold_reason"]
        if not on and "legal_hold_reason" not in form.changed_data:
            reason = ""  # lifted: the reason left in the field is the hold's, not the lifting's
        try:
            appeal_legal_hold_set(appeal=obj, actor=request.user, on=on, reason=reason)
        except WorkflowError as exc:
            messages.error(request, exc.message)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RiskWeight)
class RiskWeightAdmin(admin.ModelAdmin):
    """The points each signal adds to the risk score; a new score uses them at once (a signal with no
    row here counts its default), and the open appeals' scores are recomputed with them by a task."""

    list_display = ("signal", "weight")
    list_editable = ("weight",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        risk_weights_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        risk_weights_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        risk_weights_changed()


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("created_at", "template", "to", "status", "attempts", "sent_at")
    list_filter = ("status", "template")
    search_fields = ("to", "subject")
    readonly_fields = [f.name for f in OutboundEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # View only: saving the form would write the whole row back over a delivery in progress.
        return False


User = get_user_model()
admin.site.unregister(User)
# Second factors are never created, read or edited in the admin (an administrator could otherwise give
# themselves someone's authenticator secret): the user sets them up; an administrator only resets them.
for _device_model in (TOTPDevice, StaticDevice, WebAuthnCredential, WebAuthnAttestation):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Django's user admin, with "sign out everywhere" for the selected users (a lost laptop, a leaver) and
    the two-factor reset (a lost phone and lost recovery codes), both recorded."""

    actions = ["sign_out_everywhere", "two_factor_reset"]

    @admin.action(
        description=_("Reset two-factor (delete every second factor; the user sets one up again at the next sign-in)"),
        permissions=["change"],
    )
    def two_factor_reset(self, request, queryset):
        users = [user for user in queryset if user.pk != request.user.pk]
        if len(users) != queryset.count():
            self.message_user(request, _("Your own second factor is changed on your security page, not here."), messages.WARNING)
        for user in users:
            second_factor_reset(user=user, actor=request.user, ip_address=client_ip(request))
        if users:
            count = len(users)
            self.message_user(
                request,
                ngettext(
                    "Two-factor reset for %(count)d user: their sessions have ended.",
                    "Two-factor reset for %(count)d users: their sessions have ended.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )

    @admin.action(description=_("Sign out everywhere (end every session of the selected users)"), permissions=["change"])
    def sign_out_everywhere(self, request, queryset):
        users = list(queryset)
        for user in users:
            staff_sign_out_everywhere(user=user, actor=request.user, ip_address=client_ip(request))
        count = len(users)
        self.message_user(
            request,
            ngettext(
                "%(count)d user signed out everywhere.",
                "%(count)d users signed out everywhere.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(StaffOIDCLink)
class StaffOIDCLinkAdmin(admin.ModelAdmin):
    """Single sign-on links (supportdesk/sso.py): made at a first sign-on; an administrator may link an
    account by hand (the provider's issuer and `sub`) or delete a link so that it is made again."""

    list_display = ("user", "issuer", "subject", "created_at", "last_sign_in_at")
    search_fields = ("user__username", "user__email", "subject")
    readonly_fields = ("created_at", "last_sign_in_at")
    raw_id_fields = ("user",)


class AgentProfileForm(forms.ModelForm):
    """The languages as boxes to tick (stored as a list of codes); only agents and supervisors as users."""

    languages = forms.TypedMultipleChoiceField(
        label=_("languages"),
        choices=Appeal.Language.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The appellants' languages this agent handles; none ticked: every language."),
    )

    class Meta:
        model = AgentProfile
        fields = ("user", "on_duty", "capacity", "appeal_types", "languages")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = agents_queryset()


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    """Automatic assignment's per-agent settings (tickets/assignment/): on duty or away, capacity, and
    skills. Saving calls the service, which fills an on-duty agent's free places after commit."""

    form = AgentProfileForm
    list_display = ("user", "on_duty", "capacity", "skills", "changed_at")
    list_filter = ("on_duty", "appeal_types")
    search_fields = ("user__username",)
    filter_horizontal = ("appeal_types",)

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj else ()

    @admin.display(description=_("skills"))
    def skills(self, obj):
        types = ", ".join(t.code for t in obj.appeal_types.all()) or _("every type")
        languages = ", ".join(obj.languages) or _("every language")
        return f"{types} · {languages}"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("appeal_types")

    def save_model(self, request, obj, form, change):
        agent_profile_save(profile=obj)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Replies agents insert from the console's reply box, per language. The model's `clean` refuses a
    body with an unknown placeholder (or a stray brace), so nothing is stored until it is fixed."""

    list_display = ("title", "language", "active", "updated_at")
    list_filter = ("language", "active")
    list_editable = ("active",)
    search_fields = ("title", "body")
    fields = ("title", "language", "body", "active")

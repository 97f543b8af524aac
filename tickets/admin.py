from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential

from evidence.models import Evidence
from supportdesk.admin_mixins import ViewOnlyAdminMixin
from supportdesk.client import client_ip
from supportdesk.two_factor.services import second_factor_reset

from .assignment.services import agent_profile_save
from .models import (
    AgentProfile,
    Appeal,
    AppealEvent,
    AppealReason,
    AppealType,
    CannedReply,
    HoldNotice,
    LoginDeviceRecord,
    OutboundEmail,
    ReasonCode,
    RechargeRecord,
    RiskWeight,
    SatisfactionRating,
    SlaCalendar,
    SlaCalendarDay,
    SlaEscalationLevel,
    SlaPolicy,
    StaffOIDCLink,
)
from .reference import agents_queryset
from .risk.services import risk_weights_changed
from .services.errors import WorkflowError
from .services.legal_hold import appeal_legal_hold_set
from .services.staff_sessions import staff_sign_out_everywhere
from .sla.coverage import sla_calendar_uncovered_years


@admin.register(AppealType)
class AppealTypeAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh_hans", "name_en", "risk", "sla_hours", "is_active", "position")
    list_editable = ("is_active", "position")
    search_fields = ("code", "name_zh_hans", "name_en")


class SlaCalendarGapWarningMixin:
    """Warn on every SLA calendar and policy page while a year they need has no statutory holidays."""

    def _warn_uncovered(self, request) -> None:
        years = sla_calendar_uncovered_years()
        if years and request.method == "GET":
            messages.warning(
                request,
                _(
                    "The chinesecalendar package has no statutory holidays for %(years)s yet: due times in those "
                    "years count only weekends and the days set on the calendar. Add that year's holidays and "
                    "make-up working days below, or upgrade the package."
                )
                % {"years": ", ".join(map(str, years))},
            )

    def changelist_view(self, request, extra_context=None):
        self._warn_uncovered(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._warn_uncovered(request)
        return super().changeform_view(request, object_id, form_url, extra_context)


class SlaCalendarDayInline(admin.TabularInline):
    model = SlaCalendarDay
    extra = 1


@admin.register(SlaCalendar)
class SlaCalendarAdmin(SlaCalendarGapWarningMixin, admin.ModelAdmin):
    list_display = ("name", "timezone", "work_start", "work_end", "statutory_holidays")
    inlines = [SlaCalendarDayInline]


class SlaEscalationLevelFormSet(BaseInlineFormSet):
    """Levels in order: each position's threshold above the one before, and one escalation at most
    (it is the cycle's breach)."""

    def clean(self) -> None:
        super().clean()
        rows = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("threshold_percent")
        ]
        rows.sort(key=lambda row: row.get("position") or 0)
        for before, after in zip(rows, rows[1:], strict=False):
            if after["threshold_percent"] <= before["threshold_percent"]:
                raise ValidationError(
                    _(
                        "Escalation levels are out of order: level %(after)s (%(after_percent)s %%) must come after "
                        "a higher threshold than level %(before)s (%(before_percent)s %%)."
                    )
                    % {
                        "after": after.get("position"),
                        "after_percent": after["threshold_percent"],
                        "before": before.get("position"),
                        "before_percent": before["threshold_percent"],
                    }
                )
        if sum(row.get("action") == SlaEscalationLevel.Action.ESCALATE for row in rows) > 1:
            raise ValidationError(_("Only one escalation level can escalate the appeal."))


class SlaEscalationLevelInline(admin.TabularInline):
    model = SlaEscalationLevel
    formset = SlaEscalationLevelFormSet
    extra = 1


@admin.register(SlaPolicy)
class SlaPolicyAdmin(SlaCalendarGapWarningMixin, admin.ModelAdmin):
    list_display = ("appeal_type", "target", "unit", "calendar")
    list_select_related = ("appeal_type", "calendar")
    inlines = [SlaEscalationLevelInline]


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


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    """The reason codes of requests for information and rejections (tickets/services/reasons.py), in
    both languages. A code that was used cannot be deleted (its uses keep it): make it inactive."""

    list_display = (
        "code",
        "label_zh_hans",
        "label_en",
        "evidence_kind",
        "for_requests",
        "for_rejections",
        "is_active",
        "position",
        "used_in_requests",
        "used_in_rejections",
    )
    list_editable = ("is_active", "position")
    list_filter = ("is_active", "for_requests", "for_rejections", "evidence_kind")
    search_fields = ("code", "label_zh_hans", "label_en")

    def get_queryset(self, request):
        uses = AppealReason.Use
        return (
            super()
            .get_queryset(request)
            .annotate(
                requests=Count("uses", filter=Q(uses__use=uses.REQUEST)),
                rejections=Count("uses", filter=Q(uses__use=uses.REJECTION)),
            )
        )

    @admin.display(description=_("used in requests"), ordering="requests")
    def used_in_requests(self, obj):
        return obj.requests

    @admin.display(description=_("used in rejections"), ordering="rejections")
    def used_in_rejections(self, obj):
        return obj.rejections


@admin.register(SatisfactionRating)
class SatisfactionRatingAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """The appellants' ratings of decisions: readable, never written here (what an appellant said stays
    as they said it; the metrics page counts them)."""

    list_display = ("created_at", "appeal", "cycle", "outcome", "agent", "score")
    list_filter = ("score", "outcome", "appeal__appeal_type")
    search_fields = ("appeal__reference", "agent__username", "comment")
    list_select_related = ("appeal", "agent")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SatisfactionRating._meta.fields]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Replies agents insert from the console's reply box, per language. The model's `clean` refuses a
    body with an unknown placeholder (or a stray brace), so nothing is stored until it is fixed."""

    list_display = ("title", "language", "active", "updated_at")
    list_filter = ("language", "active")
    list_editable = ("active",)
    search_fields = ("title", "body")
    fields = ("title", "language", "body", "active")

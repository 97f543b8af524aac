"""Forms of the agent console."""

from datetime import datetime, time, timedelta
from itertools import zip_longest

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from evidence.models import EVIDENCE_REASON_MAX_CHARS
from tickets.models import AppealState, EvidenceKind, Outcome, Risk
from tickets.reference import agents_cached, agents_queryset, appeal_types_cached

# The longest note, reply or action comment (a decision reason, a request for information) an agent
# can write; the console's text boxes carry it as `maxlength`.
TEXT_MAX_CHARS = 5000


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


QUEUE_SORTS = [("", _("Queue order")), ("risk", _("Risk score, highest first"))]


class QueueFilterForm(forms.Form):
    """The queue's filters. Types and agents are checked against the cached lists the page's selects
    show (tickets.reference), so filtering costs no query of its own; both clean to ids."""

    q = forms.CharField(label=_("Search"), required=False)
    appeal_type = forms.TypedChoiceField(label=_("Type"), coerce=int, empty_value=None, required=False)
    state = forms.ChoiceField(label=_("State"), choices=[("", "---------"), *AppealState.choices], required=False)
    assignee = forms.TypedChoiceField(label=_("Assignee"), coerce=int, empty_value=None, required=False)
    risk = forms.ChoiceField(label=_("Risk"), choices=[("", "---------"), *Risk.choices], required=False)
    min_score = forms.IntegerField(label=_("Score from"), min_value=0, max_value=100, required=False)
    sort = forms.ChoiceField(label=_("Order"), choices=QUEUE_SORTS, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.is_bound:  # only validation reads the choices (the page builds its selects itself)
            self.fields["appeal_type"].choices = [("", "---------"), *((t.pk, t.name) for t in appeal_types_cached().values())]
            self.fields["assignee"].choices = [("", "---------"), *((a.pk, a.username) for a in agents_cached())]


class ActionForm(forms.Form):
    action = forms.CharField()
    expected_state = forms.CharField(required=False)
    comment = forms.CharField(required=False, max_length=TEXT_MAX_CHARS)
    assignee = AgentChoiceField(queryset=agents_queryset(), required=False)
    # Approving a type that asks for the handheld photo: the code on the paper matches the appeal's.
    code_matches = forms.BooleanField(required=False)
    # A rejection's reason code (tickets/services/reasons.py checks it).
    reason_code = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_queryset()

    def clean(self):
        cleaned = super().clean()
        kinds, codes = self.data.getlist("request_kind"), self.data.getlist("request_reason")
        if max(len(kinds), len(codes)) > len(EvidenceKind.values):
            raise forms.ValidationError(_("Too many files asked for at once."), code="too_many")
        # A request's (evidence kind, reason code) rows, as sent; the service checks them.
        cleaned["requested"] = list(zip_longest(kinds, codes, fillvalue=""))
        return cleaned


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Message"), max_length=TEXT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))
    public = forms.BooleanField(label=_("Send to the appellant (public reply)"), required=False)


class EvidenceReasonForm(forms.Form):
    """Need-to-know (evidence/access.py): why this staff member must see the appeal's files."""

    reason = forms.CharField(
        label=_("Why do you need to see these documents?"),
        max_length=EVIDENCE_REASON_MAX_CHARS,
        error_messages={
            "required": _("Say why you need to see these documents."),
            "max_length": _("Keep the reason to %(limit_value)d characters (it has %(show_value)d)."),
        },
        widget=forms.TextInput(attrs={"maxlength": EVIDENCE_REASON_MAX_CHARS}),
    )


class BulkForm(forms.Form):
    """Claim or assign the appeals ticked on the queue page (`references`, read with getlist)."""

    action = forms.ChoiceField(choices=[("claim", _("Claim")), ("assign", _("Assign to"))])
    assignee = AgentChoiceField(queryset=agents_queryset(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_queryset()


class OutcomeForm(forms.Form):
    """What a decided appeal turned out to be, with an optional note (supervisors; staff only)."""

    outcome = forms.ChoiceField(choices=Outcome.choices)
    note = forms.CharField(required=False, max_length=TEXT_MAX_CHARS)


class ReleaseAgainForm(forms.Form):
    """Release a failed fulfilment to the platform again, with an optional note (staff only)."""

    comment = forms.CharField(required=False, max_length=TEXT_MAX_CHARS)


class AuditExportForm(forms.Form):
    """The audit export's choices: dates are Beijing days, both included."""

    since = forms.DateField(label=_("From"), input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=_("Until (included)"), input_formats=["%Y-%m-%d"], widget=forms.DateInput(attrs={"type": "date"})
    )
    what = forms.ChoiceField(
        label=_("What"),
        choices=[
            ("access", _("Evidence access log")),
            ("events", _("Appeal events")),
            ("staff", _("Staff security events")),
        ],
    )
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("json", "JSON")])

    @property
    def max_days(self) -> int:
        return settings.AUDIT_EXPORT_MAX_DAYS

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until:
            if until < since:
                raise forms.ValidationError(_("The end date is before the start date."), code="inverted")
            days = settings.AUDIT_EXPORT_MAX_DAYS
            if (until - since).days + 1 > days:
                raise forms.ValidationError(
                    _("At most %(days)d days can be exported at a time: choose a shorter range."),
                    code="too_long",
                    params={"days": days},
                )
        return cleaned

    def moments(self) -> tuple[datetime, datetime]:
        """The range as [start, end): from the first day's midnight to the day after the last, Beijing time."""
        zone = timezone.get_default_timezone()
        start = datetime.combine(self.cleaned_data["since"], time.min, tzinfo=zone)
        end = datetime.combine(self.cleaned_data["until"] + timedelta(days=1), time.min, tzinfo=zone)
        return start, end


class AvailabilityForm(forms.Form):
    """The agent's own on duty / away switch (automatic assignment gives appeals only to agents on duty)."""

    on_duty = forms.TypedChoiceField(
        label=_("Availability"),
        choices=[("1", _("On duty")), ("0", _("Away"))],
        coerce=lambda value: value == "1",
        error_messages={"required": _("Choose on duty or away."), "invalid_choice": _("Choose on duty or away.")},
    )

"""Forms of the agent console."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import AppealState, AppealType, Risk
from .roles import AGENTS, SUPERVISORS

# The longest note, reply or action comment (a decision reason, a request for information) an agent
# can write; the console's text boxes carry it as `maxlength`.
TEXT_MAX_CHARS = 5000


def agents_queryset():
    return (
        get_user_model().objects.filter(is_active=True)
        .filter(Q(groups__name__in=[AGENTS, SUPERVISORS]) | Q(is_superuser=True))
        .distinct().order_by("username")
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class QueueFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    appeal_type = forms.ModelChoiceField(label=_("Type"), queryset=AppealType.objects.all(), required=False)
    state = forms.ChoiceField(label=_("State"), choices=[("", "---------"), *AppealState.choices], required=False)
    assignee = AgentChoiceField(label=_("Assignee"), queryset=agents_queryset(), required=False)
    risk = forms.ChoiceField(label=_("Risk"), choices=[("", "---------"), *Risk.choices], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_queryset()


class ActionForm(forms.Form):
    action = forms.CharField()
    expected_state = forms.CharField(required=False)
    comment = forms.CharField(required=False, max_length=TEXT_MAX_CHARS)
    assignee = AgentChoiceField(queryset=agents_queryset(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_queryset()


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Message"), max_length=TEXT_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3}))
    public = forms.BooleanField(label=_("Send to the appellant (public reply)"), required=False)


class BulkForm(forms.Form):
    """Claim or assign the appeals ticked on the queue page (`references`, read with getlist)."""

    action = forms.ChoiceField(choices=[("claim", _("Claim")), ("assign", _("Assign to"))])
    assignee = AgentChoiceField(queryset=agents_queryset(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = agents_queryset()

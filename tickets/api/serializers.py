"""What the API answers (and, for the schema, what it accepts). Only an appeal's public facts: no
contact details, ID characters, letter or evidence."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from integrations.models import IntegrationEvent
from tickets.models import Appeal, AppealEvent, AppealState, EvidenceKind, FulfilmentState
from tickets.services.fulfilment import DETAIL_MAX_CHARS

CONTACT_KINDS = ("email", "phone")
MAX_REGISTERED_CONTACTS = 20
CONTACTS_EXAMPLE = '[{"kind": "email", "value": "a@example.com"}, {"kind": "phone", "value": "13800138000"}]'


class _AppealCreateFields(serializers.Serializer):
    """The multipart body of `POST /api/v1/appeals/`, documented for the schema. The fields are the
    public form's, with the same names and the same validation; which of them an appeal type requires
    (and which evidence kinds) is the type's own, as on the form."""

    appeal_type = serializers.CharField(help_text="The appeal type's code, e.g. realname_unbind.")
    contact_email = serializers.EmailField()
    contact_phone = serializers.CharField(required=False)
    language = serializers.ChoiceField(choices=Appeal.Language.choices, required=False)
    account_identifier = serializers.CharField(required=False)
    registered_phone = serializers.CharField(required=False)
    new_phone = serializers.CharField(required=False)
    device_model = serializers.CharField(required=False)
    id_number = serializers.CharField(required=False, help_text="Full, last 4 or none, as the type asks.")
    letter_background = serializers.CharField(required=False)
    letter_steps_taken = serializers.CharField(required=False)
    letter_request = serializers.CharField(required=False)
    consent_id_images = serializers.BooleanField(
        required=False, help_text="The appellant's consent to the processing of ID images (types that ask for them)."
    )
    registered_contacts = serializers.CharField(
        required=False,
        help_text=f"JSON: the account's contacts as the platform holds them, e.g. {CONTACTS_EXAMPLE}.",
    )
    account_email = serializers.EmailField(
        required=False,
        help_text="The e-mail address registered on the account as the appellant names it, if not `contact_email` "
        "(kept as a registered contact of source `appellant`).",
    )
    fresh_photo_token = serializers.CharField(
        required=False,
        help_text="From `POST /api/v1/fresh-photo-codes/` for the same type: required by the types that ask for the photo "
        "of the appellant holding their ID card, which must show the code.",
    )
    recharge_csv = serializers.FileField(required=False, help_text="Recharge records as CSV (UTF-8 or GB18030).")
    device_csv = serializers.FileField(required=False, help_text="Login device records as CSV.")


# One input per evidence kind, several files each (`evidence_id_front`, …), as on the form.
AppealSubmissionSerializer = type(
    "AppealSubmissionSerializer",
    (_AppealCreateFields,),
    {
        f"evidence_{kind.value}": serializers.ListField(
            child=serializers.FileField(), required=False, help_text=f"Files of kind {kind.value}: JPEG, PNG, WebP or PDF."
        )
        for kind in EvidenceKind
    },
)


class FreshPhotoCodeRequestSerializer(serializers.Serializer):
    appeal_type = serializers.CharField(help_text="The code of the appeal type the appeal will be filed as.")


class FreshPhotoCodeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Show it to the appellant: they write it on paper and hold it with their ID card.")
    token = serializers.CharField(help_text="Send it as `fresh_photo_token` with the appeal.")
    expires_at = serializers.DateTimeField(help_text="The appeal must be filed before this time.")


class RegisteredContactSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CONTACT_KINDS)
    value = serializers.CharField(help_text="An e-mail address, or a phone number (digits, spaces, +, -, parentheses).")


class RegisteredContactsRequestSerializer(serializers.Serializer):
    """The body of `POST /api/v1/appeals/<reference>/registered-contacts/`, for the schema: it is checked
    by the same rules as `registered_contacts` of an appeal filed through the API."""

    registered_contacts = RegisteredContactSerializer(many=True, min_length=1, max_length=MAX_REGISTERED_CONTACTS)


class RegisteredContactsAddedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    contacts = serializers.IntegerField(
        help_text="How many registered contacts the appeal holds now: the platform's and the one the appellant named."
    )
    told_now = serializers.IntegerField(
        help_text="How many were e-mailed now: the new addresses, while the approval is held (0 otherwise)."
    )
    hold_until = serializers.DateTimeField(
        allow_null=True, help_text="While the approval is held: when it is released unless a contact objects."
    )


class AppealCreatedSerializer(serializers.Serializer):
    reference = serializers.CharField()
    type = serializers.CharField(source="appeal_type.code")
    state = serializers.ChoiceField(choices=AppealState.choices)
    created_at = serializers.DateTimeField()
    promised_at = serializers.DateTimeField(source="sla_due_at", allow_null=True, help_text="When a decision is promised.")
    status_url = serializers.SerializerMethodField()

    def get_status_url(self, appeal: Appeal) -> str:
        return self.context["request"].build_absolute_uri(reverse("api:appeal-detail", args=[appeal.reference]))


class PublicEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AppealEvent.Kind.choices)
    label = serializers.CharField(source="get_kind_display")
    state = serializers.CharField(source="to_state", help_text="The state it led to, empty if none.")
    at = serializers.DateTimeField(source="created_at")


class AppealStatusSerializer(AppealCreatedSerializer):
    closed_at = serializers.DateTimeField(allow_null=True)
    fulfilment = serializers.ChoiceField(
        choices=FulfilmentState.choices,
        help_text="Carrying out an approval: not_released, held (a security hold: released when it ends unless a "
        "registered contact objects), released (awaiting your report), done or failed.",
    )
    hold_until = serializers.SerializerMethodField(help_text="While the approval is held: when it is released.")
    released_at = serializers.DateTimeField(allow_null=True, help_text="When the approval was released to the platform.")
    fulfilment_reported_at = serializers.DateTimeField(allow_null=True, help_text="When the platform last reported.")
    events = PublicEventSerializer(source="public_events", many=True)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_hold_until(self, appeal) -> str | None:
        if appeal.fulfilment != FulfilmentState.HELD or appeal.hold_until is None:
            return None
        return serializers.DateTimeField().to_representation(appeal.hold_until)


class FulfilmentReportSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=[(FulfilmentState.DONE, "done"), (FulfilmentState.FAILED, "failed")],
        help_text="`done`: carried out; `failed`: could not be (an agent follows it up).",
    )
    detail = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=DETAIL_MAX_CHARS,
        help_text="What happened, for the agents (never shown to the appellant).",
    )


class IntegrationEventSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The event's cursor: pass it as `after` to read what follows.")
    message_id = serializers.CharField(help_text="The Standard Webhooks webhook-id of the same event.")
    type = serializers.ChoiceField(choices=IntegrationEvent.Type.choices)
    appeal = serializers.CharField(source="appeal_reference", help_text="The appeal's reference.")
    created_at = serializers.DateTimeField()
    data = serializers.DictField(
        help_text="The appeal's public facts when the event happened: reference, appeal_type, state, "
        "account_identifier, created_at, sla_due_at, decision, decision_reason, decision_reason_code (a rejection's "
        "reason code, stable across languages; null otherwise), decided_at, fulfilment, released_at, hold_until."
    )


class IntegrationEventPageSerializer(serializers.Serializer):
    results = IntegrationEventSerializer(many=True)
    next = serializers.CharField(
        allow_null=True, help_text="The cursor to ask next (`after`): the last event's, or the one given when none followed."
    )
    has_more = serializers.BooleanField()

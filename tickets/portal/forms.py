"""The public appeal form: appeal fields, structured records (rows or CSV) and evidence files."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from evidence.validation import CSV_ACCEPT, EVIDENCE_ACCEPT, csv_sniff, evidence_limits_check, evidence_sniff
from supportdesk.context_processors import site_name_for
from tickets.fresh_photo import (
    FreshPhotoCode,
    FreshPhotoCodeRefused,
    fresh_photo_code_issue,
    fresh_photo_code_read,
    fresh_photo_code_required,
)
from tickets.id_numbers import id_number_normalise, id_number_validate
from tickets.models import (
    APPELLANT_FIELDS,
    Appeal,
    AppealType,
    EvidenceKind,
    IdNumberRule,
    LoginDeviceRecord,
    RechargeRecord,
    SatisfactionRating,
    evidence_kind_label,
)
from tickets.risk.services import appeal_velocity_check

from .records_csv import DEVICE_COLUMNS, RECHARGE_COLUMNS, records_parse_csv


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name, as in Django's documentation."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [d for d in data if d] if isinstance(data, (list, tuple)) else ([data] if data else [])
        if not files:
            super().clean(None, initial)  # raises the "required" error when the kind is required
            return []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def limits_error(form: forms.Form, field: str, *, count: int, total_bytes: int) -> None:
    """The per-appeal file limits (evidence_limits_check), an error under `field` when exceeded."""
    try:
        evidence_limits_check(count=count, total_bytes=total_bytes)
    except ValidationError as exc:
        form.add_error(field, exc)


ID_IMAGE_KINDS = {EvidenceKind.ID_FRONT, EvidenceKind.ID_BACK, EvidenceKind.ID_HANDHELD}


def length_limit_text(max_length: int) -> str:
    """The limit of a free-text field as shown under it, e.g. "Up to 5,000 characters."."""
    return _("Up to %(count)s characters.") % {"count": number_format(max_length, force_grouping=True)}


def with_length_limit(field: forms.Field) -> None:
    """Show a text field's limit in its help text; Django already puts it in `maxlength`."""
    limit = length_limit_text(field.max_length)
    field.help_text = f"{field.help_text} {limit}" if field.help_text else limit


def consent_text() -> str:
    """Says exactly who sees the files (the need-to-know rule of evidence/access.py)."""
    return _(
        "I agree that %(site_name)s processes the images of my identity document and the other files I send "
        "with this appeal (all personal data) to verify my identity for this appeal only, stored privately. "
        "While the appeal is open, the agent handling it, whoever proposes or gives its approval, and the "
        "supervisors see them; other staff must first state a reason (recorded and reported to the "
        "supervisors) and may then see them for %(minutes)d minutes. Once it is decided, withdrawn or "
        "closed, only supervisors may see them, after stating a reason. They are deleted %(days)d days "
        "after the decision."
    ) % {
        "site_name": site_name_for(),
        "minutes": settings.EVIDENCE_REASON_GRANT_MINUTES,
        "days": settings.EVIDENCE_RETENTION_DAYS,
    }


# The one line a brief form (the emergency freeze) asks instead of the three-part letter.
BRIEF_LETTER_MAX_LENGTH = 200


class AppealForm(forms.ModelForm):
    id_number = forms.CharField(
        label=gettext_lazy("ID number"),
        max_length=40,
        help_text=gettext_lazy("Used only to check your identity. We never store it in full."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    # The security hold (tickets/services/hold.py) writes to it before a risky change takes effect, so
    # that the account's owner can stop a change they did not ask for.
    account_email = forms.EmailField(
        label=gettext_lazy("E-mail address registered on the account"),
        required=False,
        max_length=254,  # as contact_email
        help_text=gettext_lazy(
            "Only if it is not the address above. Before a change to the account takes effect, we may write to "
            "this address so that the account's owner can stop a change they did not ask for."
        ),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = Appeal
        fields = list(APPELLANT_FIELDS)
        widgets = {
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "contact_phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            "registered_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "new_phone": forms.TextInput(attrs={"inputmode": "tel"}),
            "letter_background": forms.Textarea(attrs={"rows": 2}),
            "letter_steps_taken": forms.Textarea(attrs={"rows": 2}),
            "letter_request": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "contact_email": gettext_lazy("We send your reference and a tracking link here."),
            "account_identifier": gettext_lazy("The account name or ID on the platform, as it appears in the app."),
            "letter_background": gettext_lazy("What happened, when, and what error message you saw."),
            "letter_steps_taken": gettext_lazy("What you already tried, e.g. self-service unbind, customer service calls."),
            "letter_request": gettext_lazy("What you want us to do."),
        }

    def __init__(self, *args, appeal_type: AppealType, **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal_type = appeal_type
        if set(appeal_type.required_evidence) & ID_IMAGE_KINDS:
            # PIPL art. 29: separate, explicit consent for sensitive personal information (ID images).
            self.fields["consent_id_images"] = forms.BooleanField(
                label=consent_text(),
                required=True,
                error_messages={"required": _("We cannot process your appeal without this consent.")},
            )
        for name in ("new_phone", "device_model"):
            if name not in appeal_type.required_fields:
                del self.fields[name]
        for name in appeal_type.required_fields:
            if name in self.fields:
                self.fields[name].required = True
        id_field = self.fields["id_number"]
        if appeal_type.id_number_rule == IdNumberRule.LAST4:
            id_field.label = _("Last 4 characters of your ID number")
            id_field.max_length = 4
            id_field.widget.attrs.update(maxlength="4", inputmode="text")
        elif appeal_type.id_number_rule == IdNumberRule.OPTIONAL:
            id_field.required = False
        if appeal_type.brief_form:
            # A freeze must be asked for in under a minute: one optional line instead of the letter, and
            # no old address (a freeze is never held: no one would be written to).
            del self.fields["account_email"]
            del self.fields["letter_steps_taken"]
            del self.fields["letter_request"]
            self.fields["letter_background"] = forms.CharField(
                label=_("What happened? (optional)"),
                required=False,
                max_length=BRIEF_LETTER_MAX_LENGTH,
                help_text=_("One line is enough, e.g. “A sign-in alert from a phone that is not mine.”"),
            )
        else:
            for name in ("letter_background", "letter_steps_taken", "letter_request"):
                self.fields[name].required = True
        for name in ("letter_background", "letter_steps_taken", "letter_request"):
            if name in self.fields:
                with_length_limit(self.fields[name])
        if fresh_photo_code_required(appeal_type):
            self.fields["fresh_photo_token"] = forms.CharField(
                widget=forms.HiddenInput,
                error_messages={"required": _("The photo code is missing. Use the code shown on this form.")},
            )
        # The appellant's e-mails follow the language they are reading the form in, unless they choose.
        self.fields["language"].initial = "en" if (get_language() or "").startswith("en") else "zh-hans"

    def clean_fresh_photo_token(self) -> str:
        """The fresh-photo code the signed token carries (tickets/fresh_photo.py)."""
        try:
            return fresh_photo_code_read(token=self.cleaned_data["fresh_photo_token"], appeal_type=self.appeal_type)
        except FreshPhotoCodeRefused as refused:
            raise ValidationError(refused.message, code=refused.code) from None

    @cached_property
    def fresh_photo(self):
        """The code this page shows: the one the posted token carries when it is valid (the photo
        already taken stays good), else a newly issued one."""
        if "fresh_photo_token" not in self.fields:
            return None
        code = getattr(self, "cleaned_data", {}).get("fresh_photo_token") if self.is_bound else None
        if code:
            return FreshPhotoCode(code=code, token=self.data["fresh_photo_token"], expires_at=None)
        return fresh_photo_code_issue(appeal_type=self.appeal_type)

    def clean(self):
        cleaned = super().clean()
        named, own = cleaned.get("account_email", ""), cleaned.get("contact_email", "")
        if named and own and named.lower() == own.lower():
            self.add_error(
                "account_email",
                ValidationError(
                    _(
                        "This is the address above, where we reach you. Give the account's address only if it is a "
                        "different one; otherwise leave this empty."
                    ),
                    code="account_email_own",
                ),
            )
        return cleaned

    def clean_id_number(self) -> str:
        number = id_number_normalise(self.cleaned_data.get("id_number", ""))
        if not number:
            return ""
        if self.appeal_type.id_number_rule == IdNumberRule.LAST4:
            if not re.fullmatch(r"[0-9X]{4}", number):
                raise ValidationError(_("Enter exactly the last 4 characters of your ID number."), code="id_last4")
        else:
            id_number_validate(number)
        return number


class RechargeRecordForm(forms.ModelForm):
    class Meta:
        model = RechargeRecord
        fields = ["order_number", "amount", "currency", "paid_at", "product"]
        widgets = {"paid_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "CNY").upper()


class LoginDeviceRecordForm(forms.ModelForm):
    class Meta:
        model = LoginDeviceRecord
        fields = ["seen_at", "ip_address", "device_model", "device_id", "location"]
        widgets = {"seen_at": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")}


class RecordFormSet(forms.BaseFormSet):
    default_error_messages = {
        "too_many_forms": gettext_lazy("Too many records: at most %(num)d of each kind per appeal."),
    }


def record_formset(form_class) -> type[forms.BaseFormSet]:
    """The page's rows of one record kind, at most APPEAL_MAX_RECORD_ROWS (read when the page is built)."""
    cap = settings.APPEAL_MAX_RECORD_ROWS
    return forms.formset_factory(
        form_class, formset=RecordFormSet, extra=1, can_delete=True, max_num=cap, absolute_max=cap, validate_max=True
    )


RECORD_FILE_LABELS = {
    EvidenceKind.RECHARGE_RECORD: gettext_lazy("Screenshots of recharge records (optional)"),
    EvidenceKind.DEVICE_LOG: gettext_lazy("Screenshots of login device records (optional)"),
}


class EvidenceUploadForm(forms.Form):
    """One file input per evidence kind (several files each), and the optional record CSVs."""

    recharge_csv = forms.FileField(
        label=gettext_lazy("Recharge records as CSV (optional)"),
        required=False,
        help_text=gettext_lazy("Columns: order_number, amount, currency, paid_at, product."),
        widget=forms.ClearableFileInput(attrs={"accept": CSV_ACCEPT}),
    )
    device_csv = forms.FileField(
        label=gettext_lazy("Login device records as CSV (optional)"),
        required=False,
        help_text=gettext_lazy("Columns: seen_at, ip_address, device_model, device_id, location."),
        widget=forms.ClearableFileInput(attrs={"accept": CSV_ACCEPT}),
    )

    def __init__(self, *args, appeal_type: AppealType, **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal_type = appeal_type
        if not appeal_type.collects_records:
            del self.fields["recharge_csv"]
            del self.fields["device_csv"]
        for kind in self.kinds_for(appeal_type):
            required = kind in appeal_type.required_evidence
            label = EvidenceKind(kind).label
            self.fields[f"evidence_{kind}"] = MultipleFileField(
                label=RECORD_FILE_LABELS[kind]
                if kind in RECORD_FILE_LABELS and not required
                else label
                if required
                else _("%(kind)s (optional)") % {"kind": label},
                required=required,
                error_messages={"required": _("Please upload: %(kind)s.") % {"kind": label}},
            )
        for name, field in self.fields.items():
            field.widget.attrs.update(
                {
                    "class": "form-control",
                    "data-kind": "csv" if name.endswith("_csv") else "evidence",
                    "aria-describedby": f"id_{name}_help id_{name}_errors",
                }
            )
        self.sniffed: dict[str, list] = {}
        self.recharge_rows: list[dict] = []
        self.device_rows: list[dict] = []
        # How many records each CSV may still add after the rows typed on the page (set by the page's form).
        self.records_room: dict[str, int] = {}

    @staticmethod
    def kinds_for(appeal_type: AppealType) -> list[str]:
        required = [k for k in appeal_type.required_evidence if k in EvidenceKind.values]
        if appeal_type.brief_form:
            return required  # a brief form asks no optional files
        optional = [EvidenceKind.RECHARGE_RECORD, EvidenceKind.DEVICE_LOG] if appeal_type.collects_records else []
        optional += [EvidenceKind.SCREENSHOT, EvidenceKind.OTHER]
        return required + [str(k) for k in optional if k not in required]

    @property
    def evidence_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith("evidence_")]

    def clean(self):
        cleaned = super().clean()
        total_files = total_bytes = 0
        for name in self.evidence_field_names:
            files = cleaned.get(name) or []
            if not files:
                continue
            accepted, errors = [], []
            for uploaded in files:
                try:
                    accepted.append((uploaded, evidence_sniff(uploaded)))
                except ValidationError as exc:
                    errors.extend(exc.messages)
            if errors:
                self.add_error(name, errors)
                cleaned.pop(name, None)
                continue
            self.sniffed[name.removeprefix("evidence_")] = accepted
            total_files += len(accepted)
            total_bytes += sum(s.size for _u, s in accepted)
        for name, form_class, columns, target in (
            ("recharge_csv", RechargeRecordForm, RECHARGE_COLUMNS, "recharge_rows"),
            ("device_csv", LoginDeviceRecordForm, DEVICE_COLUMNS, "device_rows"),
        ):
            uploaded = cleaned.get(name)
            if not uploaded:
                continue
            try:
                sniffed, text = csv_sniff(uploaded)
            except ValidationError as exc:
                self.add_error(name, exc)
                continue
            room = max(self.records_room.get(name, settings.APPEAL_MAX_RECORD_ROWS), 0)
            rows, row_errors = records_parse_csv(text, form_class, columns, max_rows=room)
            if row_errors:
                self.add_error(name, row_errors[:20])
                continue
            setattr(self, target, rows)
            kind = EvidenceKind.RECHARGE_RECORD if name == "recharge_csv" else EvidenceKind.DEVICE_LOG
            self.sniffed.setdefault(str(kind), []).append((uploaded, sniffed))
            total_files += 1
            total_bytes += sniffed.size
        evidence_limits_check(count=total_files, total_bytes=total_bytes)
        return cleaned

    def files_to_store(self) -> list[tuple[str, object, object]]:
        return [(kind, uploaded, sniffed) for kind, items in self.sniffed.items() for uploaded, sniffed in items]


class AppealSubmissionForm:
    """The whole appeal page: validates all its parts together, so every error shows at once."""

    def __init__(self, *, appeal_type: AppealType, data=None, files=None):
        self.appeal_type = appeal_type
        self.appeal = AppealForm(data, appeal_type=appeal_type)
        self.uploads = EvidenceUploadForm(data, files, appeal_type=appeal_type)
        collects = appeal_type.collects_records
        self.recharge = record_formset(RechargeRecordForm)(data, prefix="recharge") if collects else None
        self.devices = record_formset(LoginDeviceRecordForm)(data, prefix="device") if collects else None
        self.records_errors: list[str] = []

    # Record fields that share a line on a phone (two short inputs side by side).
    half_width_record_fields = ("amount", "currency", "paid_at", "product", "ip_address", "device_model", "device_id", "location")

    @property
    def files_section_fields(self) -> list:
        """The evidence inputs of the files section: record screenshots are asked in the records section."""
        shown_with_records = (
            {f"evidence_{kind.value}" for kind in RECORD_FILE_LABELS} if self.appeal_type.collects_records else set()
        )
        return [self.uploads[name] for name in self.uploads.evidence_field_names if name not in shown_with_records]

    @property
    def files_section_required(self) -> list:
        return [field for field in self.files_section_fields if field.field.required]

    @property
    def files_section_optional(self) -> list:
        """Shown folded: most appeals need only the required files."""
        return [field for field in self.files_section_fields if not field.field.required]

    @property
    def files_section_optional_errors(self) -> bool:
        return any(field.errors for field in self.files_section_optional)

    @staticmethod
    def _rows(formset) -> list[dict]:
        return [
            f.cleaned_data
            for f in formset.forms
            if getattr(f, "cleaned_data", None) and f.has_changed() and not f.cleaned_data.get("DELETE")
        ]

    def is_valid(self) -> bool:
        formsets = [f for f in (self.recharge, self.devices) if f is not None]
        formsets_valid = all(f.is_valid() for f in formsets)
        if self.appeal_type.collects_records:
            # The cap counts the rows typed on the page and the CSV rows together, per record kind.
            cap = settings.APPEAL_MAX_RECORD_ROWS
            self.uploads.records_room = {
                "recharge_csv": cap - len(self._rows(self.recharge)),
                "device_csv": cap - len(self._rows(self.devices)),
            }
        valid = all([self.appeal.is_valid(), self.uploads.is_valid()]) and formsets_valid  # every part is validated
        if valid and self.appeal_type.collects_records:
            self.recharge_rows = self._strip(self._rows(self.recharge)) + self.uploads.recharge_rows
            self.device_rows = self._strip(self._rows(self.devices)) + self.uploads.device_rows
            if len(self.recharge_rows) < self.appeal_type.min_recharge_records:
                self.records_errors.append(
                    _("Add at least %(n)d recharge record(s): a row below or a CSV file.")
                    % {"n": self.appeal_type.min_recharge_records}
                )
            if len(self.device_rows) < self.appeal_type.min_device_records:
                self.records_errors.append(
                    _("Add at least %(n)d login device record(s): a row below or a CSV file.")
                    % {"n": self.appeal_type.min_device_records}
                )
            valid = not self.records_errors
        elif valid:
            self.recharge_rows, self.device_rows = [], []
        return valid and self._within_velocity_cap()

    def _within_velocity_cap(self) -> bool:
        """The velocity cap (tickets/risk/services.py): refused as a whole, before anything is stored."""
        data = self.appeal.cleaned_data
        try:
            appeal_velocity_check(
                id_number=data.get("id_number", ""),
                contact_phone=data.get("contact_phone", ""),
                contact_email=data.get("contact_email", ""),
                device_ids=[row.get("device_id", "") for row in self.device_rows],
            )
        except ValidationError as exc:
            self.appeal.add_error(None, exc)
            return False
        return True

    def errors_by_input_name(self) -> dict[str, list[str]]:
        """Every error, keyed by the `name` of the input it belongs to ("__all__" for the form)."""
        errors: dict[str, list[str]] = {}
        for part in (self.appeal, self.uploads):
            for field, messages in part.errors.items():
                errors.setdefault("__all__" if field == "__all__" else part.add_prefix(field), []).extend(messages)
        for formset in (f for f in (self.recharge, self.devices) if f is not None):
            for form in formset.forms:
                for field, messages in form.errors.items():
                    errors.setdefault(form.add_prefix(field), []).extend(messages)
            if formset.non_form_errors():
                errors.setdefault("__all__", []).extend(formset.non_form_errors())
        if self.records_errors:
            errors["__records__"] = list(self.records_errors)
        return errors

    @property
    def fresh_photo_reissued(self) -> dict:
        """For the upload script, which keeps the page: the new code when the posted one was refused."""
        if "fresh_photo_token" not in self.appeal.errors:
            return {}
        issued = self.appeal.fresh_photo
        return {"fresh_photo": {"code": issued.code, "token": issued.token}}

    @property
    def appeal_fields(self) -> dict:
        fields = {k: v for k, v in self.appeal.cleaned_data.items() if k in AppealForm.Meta.fields}
        if self.appeal.cleaned_data.get("consent_id_images"):
            fields["consent_id_images_at"] = timezone.now()
            fields["consent_text"] = str(self.appeal.fields["consent_id_images"].label)
        if self.appeal.cleaned_data.get("fresh_photo_token"):
            fields["fresh_photo_code"] = self.appeal.cleaned_data["fresh_photo_token"]
        if self.appeal.cleaned_data.get("account_email"):
            named = {"kind": "email", "value": self.appeal.cleaned_data["account_email"], "source": "appellant"}
            fields["registered_contacts"] = [named]
        return fields

    @staticmethod
    def _strip(rows: list[dict]) -> list[dict]:
        return [{k: v for k, v in row.items() if k != "DELETE"} for row in rows]


class TrackForm(forms.Form):
    reference = forms.CharField(
        label=gettext_lazy("Appeal reference"),
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "AP-XXXX-XXXX", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    email = forms.EmailField(label=gettext_lazy("Contact e-mail"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip().upper()


class HoldObjectionForm(forms.Form):
    """The registered contact's "it was not me": one button, and a note if they want to add one."""

    note = forms.CharField(
        label=gettext_lazy("Anything our supervisors should know? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with_length_limit(self.fields["note"])


class WithdrawForm(forms.Form):
    comment = forms.CharField(
        label=gettext_lazy("Why are you withdrawing? (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    confirm = forms.BooleanField(label=gettext_lazy("Yes, withdraw my appeal. This cannot be undone."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with_length_limit(self.fields["comment"])


class IdImagesDeleteForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("Yes, delete my identity-document images. This cannot be undone."),
        error_messages={"required": gettext_lazy("Tick the box to confirm that your images should be deleted.")},
    )


class AppellantEvidenceForm(forms.Form):
    """The appellant's answer (provide_info) or reopening (reopen): a message and new files."""

    message = forms.CharField(label=gettext_lazy("Your message"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(label=gettext_lazy("What the files show"), choices=EvidenceKind.choices, initial=EvidenceKind.OTHER)
    files = MultipleFileField(label=gettext_lazy("Files"), required=False)

    def __init__(self, *args, appeal: Appeal, files_required: bool = False, requested=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.appeal = appeal
        with_length_limit(self.fields["message"])
        # The upload slots of a structured request (AppealReason rows): one required input per kind
        # asked for, its reason under it; the files are the answer, the message is optional then.
        self.requested = list(requested)
        for slot in self.requested:
            kind_label = evidence_kind_label(slot.evidence_kind)
            self.fields[f"evidence_{slot.evidence_kind}"] = MultipleFileField(
                label=kind_label,
                help_text=_("Why we ask: %(reason)s") % {"reason": slot.reason.label},
                error_messages={"required": _("Please upload: %(kind)s.") % {"kind": kind_label}},
            )
        if self.requested:  # the other files, and what they show, are optional then
            self.fields["message"].required = False
            self.fields["kind"].required = False
            self.fields["files"].label = _("Other files (optional)")
        self.fields["kind"].initial = self.kind_to_ask(appeal)
        self.fields["files"].help_text = _(
            "Photos (JPEG, PNG or WebP) or PDF files, up to %(image)s each. At most %(max)d files and %(total)s "
            "per appeal, counting the files you already sent."
        ) % {
            "image": filesizeformat(settings.EVIDENCE_MAX_IMAGE_BYTES),
            "max": settings.EVIDENCE_MAX_FILES,
            "total": filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES),
        }
        self.fields["files"].required = files_required
        if files_required:
            self.fields["files"].error_messages["required"] = _("Add at least one new file.")
        self.sniffed: list[tuple] = []

    @staticmethod
    def kind_to_ask(appeal: Appeal) -> str:
        """The evidence kind most likely asked for: the first required kind with no usable file (none
        sent, or each one refused or deleted), else the first required kind no agent has verified,
        else "other"."""
        items = list(appeal.evidence.all())
        required = [kind for kind in appeal.appeal_type.required_evidence if kind in EvidenceKind.values]
        usable = {
            kind: [e for e in items if e.kind == kind and e.status != "rejected" and e.purged_at is None] for kind in required
        }
        missing = [kind for kind in required if not usable[kind]]
        unverified = [kind for kind in required if not any(e.verified_at for e in usable[kind])]
        return (missing or unverified or [str(EvidenceKind.OTHER)])[0]

    def errors_by_input_name(self) -> dict[str, list[str]]:
        """The errors keyed by the inputs' names, for the page's upload script."""
        return {name: list(errors) for name, errors in self.errors.items()}

    @property
    def slot_field_names(self) -> list[str]:
        return [f"evidence_{slot.evidence_kind}" for slot in self.requested]

    @property
    def slot_fields(self) -> list:
        """The slots' bound fields with their reasons, for the template."""
        return [(self[f"evidence_{slot.evidence_kind}"], slot) for slot in self.requested]

    def clean(self):
        cleaned = super().clean()
        refused = False
        for name in self.slot_field_names:
            errors = []
            for uploaded in cleaned.get(name) or []:
                try:
                    self.sniffed.append((name.removeprefix("evidence_"), uploaded, evidence_sniff(uploaded)))
                except ValidationError as exc:
                    errors.extend(exc.messages)
            if errors:
                self.add_error(name, errors)
                refused = True
        errors = []
        for uploaded in cleaned.get("files") or []:
            try:
                self.sniffed.append((cleaned.get("kind") or EvidenceKind.OTHER, uploaded, evidence_sniff(uploaded)))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            self.add_error("files", errors)
        if errors or refused:
            return cleaned
        existing = list(self.appeal.evidence.all())
        limits_error(
            self,
            "files",
            count=len(existing) + len(self.sniffed),
            total_bytes=sum(e.size for e in existing) + sum(s.size for _k, _u, s in self.sniffed),
        )
        return cleaned


class EvidenceReplaceForm(forms.Form):
    """One new file in place of one that processing refused (the status page, under that file)."""

    file = forms.FileField(
        label=gettext_lazy("New file"),
        widget=forms.ClearableFileInput(attrs={"accept": EVIDENCE_ACCEPT}),
        error_messages={"required": gettext_lazy("Choose the new file first.")},
    )

    def __init__(self, *args, appeal: Appeal, evidence, **kwargs):
        super().__init__(*args, prefix=f"replace-{evidence.pk}", **kwargs)
        self.appeal = appeal
        self.evidence = evidence
        self.sniffed = None

    def clean(self):
        cleaned = super().clean()
        uploaded = cleaned.get("file")
        if uploaded is None:
            return cleaned
        try:
            self.sniffed = evidence_sniff(uploaded)
        except ValidationError as exc:
            self.add_error("file", exc.messages)
            return cleaned
        # The per-appeal limits count the files we keep: a refused file is already gone from disk.
        kept = [e for e in self.appeal.evidence.all() if e.status != "rejected" and e.purged_at is None]
        limits_error(self, "file", count=len(kept) + 1, total_bytes=sum(e.size for e in kept) + self.sniffed.size)
        return cleaned

    @property
    def upload(self) -> tuple:
        """(uploaded file, what sniffing found) for `evidence_replace`."""
        return self.cleaned_data["file"], self.sniffed


class SatisfactionForm(forms.Form):
    """The rating from a decision e-mail's link: a score of 1-5 and, if they want, a comment."""

    score = forms.TypedChoiceField(
        label=gettext_lazy("How satisfied are you with how we handled your appeal?"),
        choices=[(score, str(score)) for score in SatisfactionRating.SCORES],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose a score from 1 to 5."),
            "invalid_choice": gettext_lazy("Choose a score from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=gettext_lazy("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=SatisfactionRating.COMMENT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        with_length_limit(self.fields["comment"])

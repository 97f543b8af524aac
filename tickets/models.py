"""Appeals, their types, structured records, audit events and the e-mail outbox."""

import logging
import re
import secrets
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from .roles import is_agent, is_supervisor
from .working_calendar import WorkingCalendar

logger = logging.getLogger(__name__)

SLA_WARN_FRACTION = 0.75  # the warning comes at 75 % of the target (SPEC §5)

# Letters and digits that cannot be mistaken for one another when read aloud or typed from paper.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def reference_generate() -> str:
    """`AP-7K3Q-9XWD`: short, human-readable, not sequential (31^8 ≈ 8.5e11 values)."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"AP-{chars[:4]}-{chars[4:]}"


class EvidenceKind(models.TextChoices):
    ID_FRONT = "id_front", _("ID card, front")
    ID_BACK = "id_back", _("ID card, back")
    ID_HANDHELD = "id_handheld", _("Photo of you holding the ID card")
    RECHARGE_RECORD = "recharge_record", _("Recharge record")
    DEVICE_LOG = "device_log", _("Login device record")
    CARRIER_CERTIFICATE = "carrier_certificate", _("Carrier deactivation certificate")
    SCREENSHOT = "screenshot", _("Screenshot")
    OTHER = "other", _("Other")


def evidence_kind_label(code: str) -> str:
    """An evidence kind as people read it. A code no longer known (a type saved before its list was
    checked) says so instead of passing for a label."""
    if code in EvidenceKind.values:
        return str(EvidenceKind(code).label)
    return str(_("unknown evidence kind “%(code)s”") % {"code": code})


class Risk(models.TextChoices):
    LOW = "low", _("Low")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class IdNumberRule(models.TextChoices):
    FULL = "full", _("Full ID number required")
    LAST4 = "last4", _("Last 4 characters required")
    OPTIONAL = "optional", _("Optional")


class AppealType(models.Model):
    """A kind of appeal, with what it requires. Seeded by a data migration; editable in admin."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    self_help_zh_hans = models.TextField(_("self-help steps (Chinese)"), blank=True, help_text=_("One step per line."))
    self_help_en = models.TextField(_("self-help steps (English)"), blank=True, help_text=_("One step per line."))
    required_evidence = models.JSONField(
        _("required evidence kinds"),
        default=list,
        blank=True,
        help_text=_('Evidence kinds the appellant must upload, e.g. ["id_front", "id_back"].'),
    )
    required_fields = models.JSONField(
        _("required appeal fields"),
        default=list,
        blank=True,
        help_text=_("Any of: account_identifier, registered_phone, new_phone, device_model."),
    )
    id_number_rule = models.CharField(_("ID number"), max_length=10, choices=IdNumberRule.choices, default=IdNumberRule.FULL)
    # An account being taken over right now: the freeze must not wait on a letter or optional files.
    brief_form = models.BooleanField(
        _("brief form"),
        default=False,
        help_text=_(
            "For urgent cases: only the contact, the account fields and ID number this type requires, and one "
            "optional line on what happened, instead of the three-part letter and the optional files."
        ),
    )
    min_recharge_records = models.PositiveSmallIntegerField(_("minimum recharge records"), default=0)
    min_device_records = models.PositiveSmallIntegerField(_("minimum login device records"), default=0)
    sla_hours = models.PositiveIntegerField(_("SLA target (hours)"), default=72)
    risk = models.CharField(_("risk"), max_length=10, choices=Risk.choices, default=Risk.HIGH)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("open for new appeals"), default=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("appeal type")
        verbose_name_plural = _("appeal types")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    # The appeal fields a type may require (the form's optional ones; contact details are always asked).
    REQUIRABLE_FIELDS = ("account_identifier", "registered_phone", "new_phone", "device_model")

    def clean(self) -> None:
        """Only known evidence kinds and fields: an unknown code would reach the form and the console
        as a raw code, and no appellant could ever upload it."""
        errors = {}
        for field, known in (("required_evidence", EvidenceKind.values), ("required_fields", self.REQUIRABLE_FIELDS)):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
                errors[field] = _("Give a list of codes, e.g. %(example)s.") % {"example": f'["{known[0]}"]'}
                continue
            unknown = [code for code in value if code not in known]
            if unknown:
                errors[field] = _("Unknown: %(unknown)s. Known: %(known)s.") % {
                    "unknown": ", ".join(unknown),
                    "known": ", ".join(known),
                }
        if errors:
            raise ValidationError(errors)

    def _localised(self, field: str) -> str:
        lang = (get_language() or settings.LANGUAGE_CODE).lower()
        suffix = "en" if lang.startswith("en") else "zh_hans"
        return getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh_hans")

    @property
    def name(self) -> str:
        return self._localised("name")

    @property
    def self_help_steps(self) -> list[str]:
        return [line.strip() for line in self._localised("self_help").splitlines() if line.strip()]

    @property
    def collects_records(self) -> bool:
        return bool(self.min_recharge_records or self.min_device_records)

    @property
    def needs_second_approval(self) -> bool:
        return self.risk == Risk.HIGH

    def sla_times(self, start):
        """(due, warn) for an SLA cycle that starts now: the target, and 75 % of it — in wall-clock
        hours, or in working time when the type has an SLA policy on a calendar."""
        policy = SlaPolicy.for_type(self)
        if policy is not None:
            return policy.times(start)
        target = timedelta(hours=self.sla_hours)
        return start + target, start + target * SLA_WARN_FRACTION

    def sla_first_response_time(self, start):
        """When the first reply or request for information is due (None: the type has no such target)."""
        policy = SlaPolicy.for_type(self)
        return policy.first_response_time(start) if policy is not None else None

    def sla_level_times(self, start) -> list:
        """The instants of the policy's escalation levels from `start` (empty: the default ladder)."""
        policy = SlaPolicy.for_type(self)
        return policy.level_times(start) if policy is not None else []

    def sla_resumed_times(self, *, due, warn, paused_at, now):
        """(due, warn) when a paused clock resumes: wall-clock times move by the pause; working-time
        ones by the working time left when it paused."""
        policy = SlaPolicy.for_type(self)
        if policy is not None:
            return policy.resumed_times(due=due, warn=warn, paused_at=paused_at, now=now)
        paused = now - paused_at
        return due + paused, (warn or due) + paused


class SlaCalendar(models.Model):
    """Business hours on working days (China's statutory calendar and the administrator's overrides),
    on which an SLA policy counts working time."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    work_start = models.TimeField(_("working hours start"), default=time(9))
    work_end = models.TimeField(_("working hours end"), default=time(18))
    statutory_holidays = models.BooleanField(
        _("China's statutory holidays"),
        default=True,
        help_text=_(
            "Public holidays and make-up working days from the chinesecalendar package. For a year it does not "
            "know yet, only weekends and the days below count until the package is upgraded."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("SLA calendar")
        verbose_name_plural = _("SLA calendars")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            errors["timezone"] = _("Unknown time zone, e.g. Asia/Shanghai.")
        if self.work_start is not None and self.work_end is not None:
            if self.work_start == self.work_end:
                errors["work_end"] = _("A calendar needs working hours: the end must be after the start.")
            elif self.work_end < self.work_start:
                errors["work_end"] = _("The working hours are inverted: they end (%(end)s) before they start (%(start)s).") % {
                    "end": self.work_end.strftime("%H:%M"),
                    "start": self.work_start.strftime("%H:%M"),
                }
        if errors:
            raise ValidationError(errors)

    def working_calendar(self) -> WorkingCalendar:
        """The calendar with its overrides, for computing (one query for the overrides)."""
        return WorkingCalendar(
            timezone=self.timezone,
            work_start=self.work_start,
            work_end=self.work_end,
            statutory_holidays=self.statutory_holidays,
            overrides=dict(self.days.values_list("date", "is_working_day")),
        )


class SlaCalendarDay(models.Model):
    """An administrator's override: a company day off, or an extra working day."""

    calendar = models.ForeignKey(SlaCalendar, on_delete=models.CASCADE, related_name="days", verbose_name=_("calendar"))
    date = models.DateField(_("date"))
    is_working_day = models.BooleanField(_("working day"), default=False, help_text=_("Unticked: a day off."))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="sla_calendar_day_once")]

    def __str__(self) -> str:
        return f"{self.date} · {_('working day') if self.is_working_day else _('day off')}"


class SlaPolicy(models.Model):
    """An appeal type's SLA counted in working time on a calendar. A type without one keeps
    wall-clock hours (its `sla_hours`)."""

    class Unit(models.TextChoices):
        HOURS = "hours", _("hours (wall clock)")
        WORKING_HOURS = "working_hours", _("working hours")
        WORKING_DAYS = "working_days", _("working days")

    appeal_type = models.OneToOneField(
        AppealType, on_delete=models.CASCADE, related_name="sla_policy", verbose_name=_("appeal type")
    )
    calendar = models.ForeignKey(
        SlaCalendar,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="policies",
        verbose_name=_("calendar"),
        help_text=_("Required for working hours or days."),
    )
    unit = models.CharField(_("unit"), max_length=16, choices=Unit.choices, default=Unit.WORKING_DAYS)
    target = models.PositiveIntegerField(
        _("resolution target"),
        validators=[MinValueValidator(1)],
        help_text=_("In the unit above. A working day is the calendar's working hours of one day."),
    )
    first_response_target = models.PositiveIntegerField(
        _("first-response target"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("In the unit above: the first public reply or request for information. Empty: none."),
    )
    urgent = models.BooleanField(
        _("urgent"),
        default=False,
        help_text=_(
            "Alerts at any hour. Otherwise alerts due outside the calendar's working hours are held and sent "
            "as one digest when they start."
        ),
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return f"{self.appeal_type.code}: {self.target} {self.get_unit_display()}"

    def clean(self) -> None:
        errors = {}
        if self.unit != self.Unit.HOURS and self.calendar_id is None:
            errors["calendar"] = _("Working hours and working days are counted on a calendar: choose one.")
        if self.first_response_target and self.target and self.first_response_target >= self.target:
            errors["first_response_target"] = _("The first response must be due before the resolution target.")
        if errors:
            raise ValidationError(errors)

    @classmethod
    def for_type(cls, appeal_type: AppealType) -> "SlaPolicy | None":
        """The type's policy with its calendar, read once per AppealType instance."""
        if not hasattr(appeal_type, "_sla_policy_cache"):
            appeal_type._sla_policy_cache = cls.objects.select_related("calendar").filter(appeal_type=appeal_type).first()
        return appeal_type._sla_policy_cache

    def _work(self, calendar: WorkingCalendar) -> timedelta:
        if self.unit == self.Unit.WORKING_DAYS:
            return calendar.day_length * self.target
        return timedelta(hours=self.target)

    def _instants(self, start, fractions: list[float], *, of: int | None = None) -> list:
        """The instants at these fractions of the target (or of `of`, in the policy's unit) from
        `start`, in wall-clock or working time."""
        amount = of or self.target
        if self.unit == self.Unit.HOURS:
            return [start + timedelta(hours=amount) * fraction for fraction in fractions]
        calendar = self.calendar.working_calendar()
        work = self._work(calendar) / self.target * amount if of else self._work(calendar)
        instants = [calendar.add(start, work * fraction) for fraction in fractions]
        _log_uncovered(calendar)
        return instants

    def times(self, start):
        """(due, warn): the target and 75 % of it from `start`."""
        due, warn = self._instants(start, [1, SLA_WARN_FRACTION])
        return due, warn

    def first_response_time(self, start):
        """When the first reply or request for information is due, or None without that target."""
        return self._instants(start, [1], of=self.first_response_target)[0] if self.first_response_target else None

    def level_times(self, start) -> list:
        """Each escalation level's instant from `start` (none defined: the default ladder applies)."""
        return self._instants(start, [level.threshold_percent / 100 for level in self.levels.all()])

    def resumed_times(self, *, due, warn, paused_at, now):
        """After a pause from `paused_at` to `now`: the working time that was left, counted again from now.
        A time already passed when the clock paused stays where it is (its alert is due)."""
        if self.unit == self.Unit.HOURS:
            return due + (now - paused_at), (warn or due) + (now - paused_at)
        calendar = self.calendar.working_calendar()
        due_now = calendar.add(now, calendar.between(paused_at, due)) if due > paused_at else due
        warn_now = calendar.add(now, calendar.between(paused_at, warn)) if warn and warn > paused_at else warn
        _log_uncovered(calendar)
        return due_now, warn_now


class SlaEscalationLevel(models.Model):
    """One step of a policy's escalation ladder: at this share of the target, tell these people and
    do this. A policy without levels keeps the default ladder (75 % the assignee, 100 % the
    supervisors and escalate, 24 h after escalation the administrators)."""

    class Recipients(models.TextChoices):
        ASSIGNEE = "assignee", _("the assignee (the agents while unassigned)")
        SUPERVISORS = "supervisors", _("the supervisors")
        ADMINISTRATORS = "administrators", _("the administrators")

    class Action(models.TextChoices):
        ALERT = "alert", _("alert")
        ESCALATE = "escalate", _("escalate to the supervisors")

    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="levels", verbose_name=_("SLA policy"))
    position = models.PositiveSmallIntegerField(_("position"))
    threshold_percent = models.PositiveSmallIntegerField(
        _("threshold (percent of the target)"), validators=[MinValueValidator(1), MaxValueValidator(1000)]
    )
    recipients = models.CharField(_("recipients"), max_length=16, choices=Recipients.choices)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices, default=Action.ALERT)

    class Meta:
        ordering = ["position", "threshold_percent"]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="sla_level_position_once"),
            models.UniqueConstraint(fields=["policy", "threshold_percent"], name="sla_level_threshold_once"),
        ]

    def __str__(self) -> str:
        return f"{self.threshold_percent} % → {self.get_recipients_display()} → {self.get_action_display()}"


class SlaHeldAlert(models.Model):
    """An SLA alert that fell in quiet hours (outside its policy calendar's working hours, for a type
    that is not urgent): held until `release_at`, then sent with the others to the same person as one
    digest. Its SlaEvent was recorded when it fell due, so it is sent once."""

    appeal = models.ForeignKey("Appeal", on_delete=models.CASCADE, related_name="sla_held_alerts")
    kind = models.CharField(max_length=32)  # the sweep's alert kind ("warning", "breach", "level:0050:alert", …)
    to = models.EmailField()
    release_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["release_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to} at {self.release_at:%Y-%m-%d %H:%M}"


class SlaCalendarGap(models.Model):
    """A year a calendar in use needs that chinesecalendar does not know: administrators were alerted
    (once — the unique year), and are warned in the admin and /healthz until the package knows it."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    alerted_at = models.DateTimeField(_("administrators alerted at"), default=timezone.now)

    class Meta:
        ordering = ["year"]
        verbose_name = _("SLA calendar gap")
        verbose_name_plural = _("SLA calendar gaps")

    def __str__(self) -> str:
        return str(self.year)


def _log_uncovered(calendar: WorkingCalendar) -> None:
    if calendar.uncovered:
        logger.warning(
            "SLA calendar: no statutory holiday data for %s; counted weekends and overrides only (upgrade chinesecalendar)",
            ", ".join(map(str, sorted(calendar.uncovered))),
        )


class AppealState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    AWAITING_INFO = "awaiting_info", _("Waiting for your information")
    PENDING_APPROVAL = "pending_approval", _("Pending second approval")
    ESCALATED = "escalated", _("Escalated")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CLOSED = "closed", _("Closed")


OPEN_STATES = (
    AppealState.SUBMITTED,
    AppealState.IN_REVIEW,
    AppealState.AWAITING_INFO,
    AppealState.PENDING_APPROVAL,
    AppealState.ESCALATED,
)
# The states in which the appellant waits on us: the SLA clock runs only in these.
SLA_RUNNING_STATES = (
    AppealState.SUBMITTED,
    AppealState.IN_REVIEW,
    AppealState.ESCALATED,
    AppealState.PENDING_APPROVAL,
)
DECIDED_STATES = (AppealState.APPROVED, AppealState.REJECTED)
CLOSED_STATES = (AppealState.APPROVED, AppealState.REJECTED, AppealState.WITHDRAWN, AppealState.CLOSED)


class FulfilmentState(models.TextChoices):
    """What became of an approved appeal on the platform's side: released to it, then carried out or not."""

    NOT_RELEASED = "not_released", _("Not released")
    # Approved, but waiting out a security hold (tickets/services/hold.py) before it is released.
    HELD = "held", _("Held (security hold)")
    RELEASED = "released", _("Released to the platform")
    DONE = "done", _("Carried out")
    FAILED = "failed", _("Failed on the platform")


class SlaStage(models.IntegerChoices):
    NONE = 0, _("On time")
    WARNED = 1, _("Warning sent")
    BREACHED = 2, _("Breached")
    SECOND_BREACH = 3, _("Breached again after escalation")


SECOND_BREACH_AFTER = timedelta(hours=24)
# sla_stage from here on: an appeal on escalation levels defined as data, that many levels done. Above
# every stage of the default ladder, so none of its partial indexes covers such an appeal.
SLA_LEVELS_BASE = 10
COOLING_OFF = timedelta(days=30)


def _agent(appeal, user) -> bool:
    return is_agent(user)


def _assignee_or_supervisor(appeal, user) -> bool:
    return is_supervisor(user) or (is_agent(user) and appeal.assignee_id is not None and appeal.assignee_id == user.pk)


def _supervisor(appeal, user) -> bool:
    return is_supervisor(user)


def _second_approver(appeal, user) -> bool:
    """Two people for high-risk appeals: a supervisor who did not propose the approval."""
    return is_supervisor(user) and user.pk != appeal.proposed_by_id


def _high_risk(appeal) -> bool:
    return appeal.needs_second_approval


def _single_approval(appeal) -> bool:
    return not appeal.needs_second_approval


def _evidence_verified(appeal) -> bool:
    return not appeal.approval_blockers()


def _within_reopen_window(appeal) -> bool:
    return appeal.closed_at is not None and timezone.now() - appeal.closed_at <= timedelta(days=settings.REOPEN_WINDOW_DAYS)


def _approved(appeal) -> bool:
    return appeal.state == AppealState.APPROVED


def _held(appeal) -> bool:
    return appeal.fulfilment == FulfilmentState.HELD


class AppealQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=OPEN_STATES)

    def due_for_release(self, now):
        """Held approvals whose hold has ended: the rows of the partial index `appeal_hold_due`, in its order."""
        return self.filter(fulfilment=FulfilmentState.HELD, hold_until__lte=now).order_by("hold_until")

    def due_for_fulfilment_overdue(self, released_before):
        """Released to the platform before `released_before`, not reported, not yet alerted: the rows of
        the partial index `appeal_fulfilment_overdue_pending`, in its order."""
        return self.filter(
            fulfilment=FulfilmentState.RELEASED, fulfilment_overdue_at__isnull=True, released_at__lte=released_before
        ).order_by("released_at")

    # What the SLA sweep must act on. Each matches one partial index (see Appeal.Meta.indexes) and is
    # ordered by that index's column, never by the model's default `-created_at`: with that order
    # PostgreSQL walks the whole table backwards (filtering out every decided or already handled
    # row) to find rows it estimates to be plentiful; in the index's order it reads the index's due
    # end, and stops at LIMIT or at the first row not yet due.
    def due_for_warning(self, now):
        return self.filter(state__in=SLA_RUNNING_STATES, sla_stage=0, sla_warn_at__lte=now).order_by("sla_warn_at")

    def due_for_breach(self, now):
        return self.filter(state__in=SLA_RUNNING_STATES, sla_stage__lt=2, sla_due_at__lte=now).order_by("sla_due_at")

    def due_for_first_response(self, now):
        """No first reply or request yet at its due time: the rows of `appeal_first_response_pending`."""
        return self.filter(
            state__in=SLA_RUNNING_STATES,
            first_responded_at__isnull=True,
            sla_first_response_missed=False,
            sla_first_response_due_at__lte=now,
        ).order_by("sla_first_response_due_at")

    def due_for_level(self, now):
        """Escalation levels defined as data (SlaEscalationLevel): the rows of `appeal_sla_level_pending`."""
        return self.filter(state__in=SLA_RUNNING_STATES, sla_level_at__isnull=False, sla_level_at__lte=now).order_by(
            "sla_level_at"
        )

    def due_for_second_breach(self, now):
        return self.filter(
            state="escalated",
            sla_stage__lt=3,
            escalated_at__lte=now - SECOND_BREACH_AFTER,
        ).order_by("escalated_at")


class Outcome(models.TextChoices):
    """What a decided appeal turned out to be, as a supervisor found later."""

    TAKEOVER = "takeover", _("Confirmed takeover attempt")
    FALSE_ALARM = "false_alarm", _("False alarm")


# What the appellant writes on the appeal form (tickets/portal/forms.py), also what their data
# download gives back (tickets/services/rights.py).
APPELLANT_FIELDS = (
    "contact_email",
    "contact_phone",
    "language",
    "account_identifier",
    "registered_phone",
    "new_phone",
    "device_model",
    "letter_background",
    "letter_steps_taken",
    "letter_request",
)


class Appeal(ConcurrentTransitionMixin, models.Model):
    class Language(models.TextChoices):
        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    reference = models.CharField(_("reference"), max_length=12, unique=True, default=reference_generate, editable=False)
    appeal_type = models.ForeignKey(AppealType, on_delete=models.PROTECT, related_name="appeals", verbose_name=_("appeal type"))
    state = FSMField(_("state"), default=AppealState.SUBMITTED, choices=AppealState.choices, protected=True, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_appeals",
        verbose_name=_("assignee"),
    )

    contact_email = models.EmailField(_("contact e-mail"))
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True, db_index=True)
    language = models.CharField(_("preferred language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)

    account_identifier = models.CharField(_("account name or ID"), max_length=150, blank=True)
    registered_phone = models.CharField(_("registered phone"), max_length=32, blank=True, db_index=True)
    new_phone = models.CharField(_("new phone"), max_length=32, blank=True)
    device_model = models.CharField(_("device model"), max_length=100, blank=True)

    # The ID number itself is never stored: an HMAC of the normalised number for matching, and the
    # last four characters for display.
    id_number_hmac = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    id_number_last4 = models.CharField(_("ID number, last 4"), max_length=4, blank=True, editable=False)

    letter_background = models.TextField(_("background"), max_length=5000, blank=True)
    letter_steps_taken = models.TextField(_("steps already taken"), max_length=5000, blank=True)
    letter_request = models.TextField(_("request"), max_length=5000, blank=True)

    sla_due_at = models.DateTimeField(_("SLA due at"), null=True, blank=True)
    sla_warn_at = models.DateTimeField(_("SLA warning at"), null=True, blank=True)
    # Set while we wait on the appellant (awaiting_info): the SLA clock is paused since then.
    sla_paused_at = models.DateTimeField(_("SLA paused at"), null=True, blank=True, db_index=True)
    # One cycle per filing or reopening; the sweep acts at most once per kind and cycle.
    sla_cycle = models.PositiveSmallIntegerField(_("SLA cycle"), default=1)
    # How far the sweep has gone in this cycle (see SlaStage). The partial indexes below cover only
    # the rows whose next step is still to come, so a sweep reads only what is due.
    sla_stage = models.PositiveSmallIntegerField(_("SLA stage"), default=0)
    # An appeal type whose SLA policy defines escalation levels: the instant of each level in this
    # cycle (computed when the clock starts or resumes), and the next one's, which the sweep reads
    # through its own partial index. sla_stage is then SLA_LEVELS_BASE + the levels done.
    # Nullable: bulk loads (tickets/seed/generate.py's COPY) name only the columns they fill.
    sla_levels_at = models.JSONField(_("SLA escalation level times"), null=True, blank=True)
    sla_level_at = models.DateTimeField(_("next SLA escalation level at"), null=True, blank=True)
    # The first-response target (SlaPolicy.first_response_target): when the first public reply or
    # request for information is due, when it came, and whether the sweep alerted that it did not.
    sla_first_response_due_at = models.DateTimeField(_("first response due at"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    sla_first_response_missed = models.BooleanField(_("first response missed"), default=False, db_default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="proposed_appeals",
        verbose_name=_("approval proposed by"),
    )
    decision_reason = models.TextField(_("decision reason"), blank=True)
    # An approved appeal of the same type for the same account in the last 30 days (a fraud signal).
    cooling_off_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("cooling-off after"),
    )
    submitted_ip = models.GenericIPAddressField(null=True, blank=True, editable=False, db_index=True)
    # Filed by a platform through the API (None: on the public form), and what that platform already
    # knew of the account: its registered contacts, to be told of a recovery they did not ask for.
    integration = models.ForeignKey(
        "integrations.Integration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appeals",
        editable=False,
        verbose_name=_("filed by integration"),
    )
    registered_contacts = models.JSONField(
        _("registered contacts"),
        default=list,
        blank=True,
        editable=False,
        help_text=_('The account\'s contacts as the platform holds them: [{"kind": "email", "value": "…"}, …].'),
    )
    # PIPL art. 29: separate, explicit consent to process identity-document images, and what it said.
    consent_id_images_at = models.DateTimeField(_("consent to process ID images"), null=True, blank=True, editable=False)
    consent_text = models.TextField(_("consent text shown"), blank=True, editable=False)
    # The code issued with the form (tickets/fresh_photo.py) that the handheld photo must show, and
    # who confirmed on approval that it does.
    fresh_photo_code = models.CharField(_("fresh-photo code"), max_length=8, blank=True, editable=False)
    fresh_photo_code_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    fresh_photo_code_confirmed_at = models.DateTimeField(_("fresh-photo code confirmed at"), null=True, blank=True)
    legal_hold = models.BooleanField(
        _("legal hold"),
        default=False,
        help_text=_("Keep the evidence files past the retention period (e.g. for a court order)."),
    )
    legal_hold_reason = models.CharField(_("legal hold reason"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # When the appeal left the open states (decided, withdrawn or closed).
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, db_index=True)
    # The fulfilment loop: an approved appeal is released to the platform, which carries it out (the
    # unbind, the rebind…) and reports `done` or `failed`. Changed only by the transitions below,
    # through tickets/services/fulfilment.py.
    fulfilment = FSMField(_("fulfilment"), default=FulfilmentState.NOT_RELEASED, choices=FulfilmentState.choices, protected=True)
    # Each release (the first, and each "release again") is numbered: the overdue alert is once per release.
    fulfilment_release = models.PositiveSmallIntegerField(_("release number"), default=0)
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    fulfilment_reported_at = models.DateTimeField(_("fulfilment reported at"), null=True, blank=True)
    fulfilment_detail = models.TextField(_("fulfilment detail"), max_length=2000, blank=True)
    # Set by the overdue sweep: takes the appeal out of the sweep's partial index.
    fulfilment_overdue_at = models.DateTimeField(_("fulfilment overdue since"), null=True, blank=True)
    # When the appellant last answered, reopened or sent evidence, until the assignee opens or acts on
    # the appeal: such appeals come first in the assignee's "Mine" queue.
    answered_at = models.DateTimeField(_("appellant answered at"), null=True, blank=True)
    # The risk score (0-100) and the signals that made it, as tickets/risk/services.py last computed them.
    risk_score = models.PositiveSmallIntegerField(_("risk score"), default=0, editable=False)
    risk_signals = models.JSONField(_("risk signals"), default=list, blank=True, editable=False)
    risk_scored_at = models.DateTimeField(_("risk scored at"), null=True, blank=True, editable=False)
    # Learning from outcomes (tickets/services/outcome.py): what a supervisor later found a decided
    # appeal to be, and whether its approval was drawn for the supervisors' review sample.
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True, editable=False)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("outcome recorded by"),
    )
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True, editable=False)
    review_sampled = models.BooleanField(_("drawn for review"), default=False, editable=False)
    # The security hold (tickets/services/hold.py): a risky approval waits until `hold_until` before
    # it is released, while the account's registered contacts may stop it. Each hold is numbered, so
    # that an objection link works only for the hold it was sent for.
    hold_number = models.PositiveSmallIntegerField(_("hold number"), default=0, editable=False)
    hold_started_at = models.DateTimeField(_("held since"), null=True, blank=True, editable=False)
    hold_until = models.DateTimeField(_("held until"), null=True, blank=True, editable=False)
    # A registered contact objected during a hold: the release was stopped and supervisors decide again.
    takeover_suspected = models.BooleanField(_("suspected takeover"), default=False, editable=False)
    objected_at = models.DateTimeField(_("objected at"), null=True, blank=True, editable=False)
    # Signed into every tracking link and into each browser's grant (tickets/tracking.py,
    # evidence/access.py): "sign out other devices" bumps it, and every older link and grant stops working.
    tracking_generation = models.PositiveIntegerField(_("tracking links generation"), default=0, editable=False)

    objects = AppealQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        indexes = [
            # The console's queues: each walks one of these in (sla_due_at, id) order and stops
            # after a page (keyset pagination), whatever the size of the table.
            models.Index(fields=["sla_due_at", "id"], name="appeal_open_due", condition=models.Q(state__in=OPEN_STATES)),
            models.Index(
                fields=["sla_due_at", "id"],
                name="appeal_unassigned_due",
                condition=models.Q(state__in=OPEN_STATES, assignee__isnull=True),
            ),
            models.Index(
                fields=["assignee", "sla_due_at", "id"],
                name="appeal_assignee_due",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["state", "sla_due_at", "id"], name="appeal_state_due", condition=models.Q(state__in=OPEN_STATES)
            ),
            # A queue filtered by type: types have different SLAs, so walking every open appeal in due
            # order to find one type's would read past the others'.
            models.Index(
                fields=["appeal_type", "sla_due_at", "id"],
                name="appeal_type_due",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            # One fresh-photo code, one appeal (tickets/fresh_photo.py): the form's check reads this.
            models.Index(
                fields=["fresh_photo_code", "created_at"],
                name="appeal_fresh_photo_code",
                condition=~models.Q(fresh_photo_code=""),
            ),
            # "Mine" lists the appeals the appellant answered first: this index walks just those.
            models.Index(
                fields=["assignee", "sla_due_at", "id"],
                name="appeal_assignee_answered_due",
                condition=models.Q(state__in=OPEN_STATES, answered_at__isnull=False),
            ),
            models.Index(
                fields=["-closed_at", "-id"],
                name="appeal_closed_recent",
                condition=models.Q(state__in=CLOSED_STATES),
            ),
            # Search: the console matches e-mail and account case-insensitively (UPPER(...) = UPPER(...)).
            models.Index(Upper("contact_email"), name="appeal_email_upper"),
            models.Index(Upper("account_identifier"), name="appeal_account_upper"),
            models.Index(
                fields=["sla_warn_at"],
                name="appeal_sla_warn_pending",
                condition=models.Q(state__in=SLA_RUNNING_STATES, sla_stage=0),
            ),
            models.Index(
                fields=["sla_due_at"],
                name="appeal_sla_breach_pending",
                condition=models.Q(state__in=SLA_RUNNING_STATES, sla_stage__lt=2),
            ),
            models.Index(
                fields=["escalated_at"],
                name="appeal_second_breach_pending",
                condition=models.Q(state="escalated", sla_stage__lt=3),
            ),
            models.Index(
                fields=["sla_first_response_due_at"],
                name="appeal_first_response_pending",
                condition=models.Q(
                    state__in=SLA_RUNNING_STATES,
                    first_responded_at__isnull=True,
                    sla_first_response_missed=False,
                    sla_first_response_due_at__isnull=False,
                ),
            ),
            models.Index(
                fields=["sla_level_at"],
                name="appeal_sla_level_pending",
                condition=models.Q(state__in=SLA_RUNNING_STATES, sla_level_at__isnull=False),
            ),
            # The abandon sweep: appeals waiting on the appellant, by when they started waiting (a
            # closed appeal keeps its sla_paused_at, so the plain index on it grows with the history).
            models.Index(
                fields=["sla_paused_at"],
                name="appeal_abandon_pending",
                condition=models.Q(state="awaiting_info"),
            ),
            # The fulfilment overdue sweep: released, unreported, not yet alerted, by release time.
            models.Index(
                fields=["released_at"],
                name="appeal_fulfilment_overdue",
                condition=models.Q(fulfilment="released", fulfilment_overdue_at__isnull=True),
            ),
            # The console's "Fulfilment problems" queue (failed, or released and overdue), oldest release first.
            models.Index(
                fields=["released_at", "id"],
                name="appeal_fulfilment_problems",
                condition=models.Q(fulfilment__in=["released", "failed"]),
            ),
            # The open queues sorted by risk score (highest first), and the "High risk" queue.
            models.Index(fields=["risk_score", "id"], name="appeal_open_risk", condition=models.Q(state__in=OPEN_STATES)),
            # The release sweep and the console's "On security hold" queue: held approvals, by the end of their hold.
            models.Index(fields=["hold_until", "id"], name="appeal_hold_due", condition=models.Q(fulfilment="held")),
            # The supervisors' "Review sample" queue: sampled approvals without an outcome, latest first.
            models.Index(
                fields=["closed_at", "id"],
                name="appeal_review_sample",
                condition=models.Q(review_sampled=True, outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def state_fields(self):
        """The fields ConcurrentTransitionMixin checks on save: `state` only. The fulfilment services lock
        the row (SELECT … FOR UPDATE) before their transition; and the mixin reads every field it checks
        when an instance is built, so a second one would make each `.only(…)` read that leaves it out
        (the SLA sweep's) load it, recursively."""
        return [self._meta.get_field("state")]

    @property
    def id_number_masked(self) -> str:
        return f"{'*' * 14}{self.id_number_last4}" if self.id_number_last4 else ""

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def needs_second_approval(self) -> bool:
        """Two people decide a high-risk type, any appeal whose risk score reaches the threshold, and
        any appeal whose release a registered contact stopped."""
        return (
            self.appeal_type.needs_second_approval or self.risk_score >= settings.RISK_HIGH_THRESHOLD or self.takeover_suspected
        )

    @property
    def sla_breached(self) -> bool:
        """Past the promised time in this cycle (recorded by the sweep, or due and not yet swept)."""
        if SlaStage.BREACHED <= self.sla_stage < SLA_LEVELS_BASE:
            return True
        if self.sla_stage > SLA_LEVELS_BASE and self.sla_due_at:  # a level done at or after the due time
            done = (self.sla_levels_at or [])[: self.sla_stage - SLA_LEVELS_BASE]
            if any(datetime.fromisoformat(at) >= self.sla_due_at for at in done):
                return True
        return self.state in SLA_RUNNING_STATES and self.sla_due_at is not None and self.sla_due_at <= timezone.now()

    def approval_blockers(self) -> list[str]:
        """Why the appeal cannot be approved yet: each required evidence kind needs a file that
        processing accepted (`ready`, its files still kept) and that someone verified. A refused,
        unprocessed or deleted file does not count, whoever marked it verified."""
        from django.utils.translation import gettext

        # The best state reached by any file of each kind, worst first.
        rank = {"missing": 0, "purged": 1, "refused": 2, "pending": 3, "unverified": 4, "verified": 5}
        best: dict[str, str] = {}
        for item in self.evidence.all():
            if item.purged_at is not None:
                found = "purged"
            elif item.status == "rejected":
                found = "refused"
            elif item.status == "pending":
                found = "pending"
            elif item.status == "ready" and item.file:
                found = "verified" if item.verified_at is not None else "unverified"
            else:
                found = "refused"
            if rank[found] > rank[best.get(item.kind, "missing")]:
                best[item.kind] = found
        messages = {
            "missing": gettext("%(kind)s is missing."),
            "purged": gettext("%(kind)s: the file was deleted, a new one is needed."),
            "refused": gettext("%(kind)s: the file was refused, a replacement is needed."),
            "pending": gettext("%(kind)s is still being processed."),
            "unverified": gettext("%(kind)s is not verified yet."),
        }
        blockers = []
        for kind in self.appeal_type.required_evidence:
            label = evidence_kind_label(kind)
            found = best.get(kind, "missing")
            if found != "verified":
                blockers.append(messages[found] % {"kind": label})
        return blockers

    def sla_clock_start(self, now) -> None:
        """A new SLA cycle's times from `now`: due, warning, and the escalation levels when the type's
        policy defines them (then the default ladder's stages do not apply)."""
        self.sla_due_at, self.sla_warn_at = self.appeal_type.sla_times(now)
        self.sla_paused_at = None
        levels = self.appeal_type.sla_level_times(now)
        self.sla_levels_at = [at.isoformat() for at in levels]
        self.sla_level_at = levels[0] if levels else None
        self.sla_stage = SLA_LEVELS_BASE if levels else SlaStage.NONE
        if self.first_responded_at is None:  # until the first reply or request, in whichever cycle
            self.sla_first_response_due_at = self.appeal_type.sla_first_response_time(now)

    # --- Transitions: the only way `state` changes. Services in tickets/services/ wrap them
    # (lock, check, transition, save, audit event, e-mail). `by` is the acting user.

    def _decided(self, reason: str = "") -> None:
        self.closed_at = timezone.now()
        self.decision_reason = reason

    @transition(field=state, source=AppealState.SUBMITTED, target=AppealState.IN_REVIEW, permission=_agent)
    def claim(self, *, by):
        self.assignee = by

    @transition(field=state, source=AppealState.IN_REVIEW, target=AppealState.AWAITING_INFO, permission=_assignee_or_supervisor)
    def request_info(self, *, by):
        self.sla_paused_at = timezone.now()
        self.first_responded_at = self.first_responded_at or self.sla_paused_at

    @transition(field=state, source=AppealState.AWAITING_INFO, target=RETURN_VALUE(AppealState.IN_REVIEW, AppealState.SUBMITTED))
    def provide_info(self):
        """The appellant answered: the SLA clock resumes where it paused."""
        if self.sla_paused_at and self.sla_due_at:
            now = timezone.now()
            resumed = partial(self.appeal_type.sla_resumed_times, paused_at=self.sla_paused_at, now=now)
            self.sla_due_at, self.sla_warn_at = resumed(due=self.sla_due_at, warn=self.sla_warn_at)
            if self.sla_levels_at:  # each level still to come keeps the time that was left to it
                levels = [resumed(due=datetime.fromisoformat(at), warn=None)[0] for at in self.sla_levels_at]
                self.sla_levels_at = [at.isoformat() for at in levels]
                done = self.sla_stage - SLA_LEVELS_BASE
                self.sla_level_at = levels[done] if 0 <= done < len(levels) else None
        self.sla_paused_at = None
        return AppealState.IN_REVIEW if self.assignee_id else AppealState.SUBMITTED

    @transition(
        field=state,
        source=AppealState.IN_REVIEW,
        target=AppealState.PENDING_APPROVAL,
        conditions=[_high_risk, _evidence_verified],
        permission=_assignee_or_supervisor,
    )
    @transition(
        field=state,
        source=AppealState.ESCALATED,
        target=AppealState.PENDING_APPROVAL,
        conditions=[_high_risk, _evidence_verified],
        permission=_supervisor,
    )
    def propose_approval(self, *, by):
        self.proposed_by = by

    @transition(
        field=state,
        source=AppealState.PENDING_APPROVAL,
        target=AppealState.APPROVED,
        conditions=[_evidence_verified],
        permission=_second_approver,
    )
    def second_approve(self, *, by, reason: str = ""):
        self._decided(reason)

    @transition(field=state, source=AppealState.PENDING_APPROVAL, target=AppealState.IN_REVIEW, permission=_supervisor)
    def send_back(self, *, by):
        self.proposed_by = None

    @transition(
        field=state,
        source=AppealState.IN_REVIEW,
        target=AppealState.APPROVED,
        conditions=[_single_approval, _evidence_verified],
        permission=_assignee_or_supervisor,
    )
    @transition(
        field=state,
        source=AppealState.ESCALATED,
        target=AppealState.APPROVED,
        conditions=[_single_approval, _evidence_verified],
        permission=_supervisor,
    )
    def approve(self, *, by, reason: str = ""):
        self._decided(reason)

    @transition(field=state, source=AppealState.IN_REVIEW, target=AppealState.REJECTED, permission=_assignee_or_supervisor)
    @transition(field=state, source=AppealState.ESCALATED, target=AppealState.REJECTED, permission=_supervisor)
    def reject(self, *, by, reason: str):
        self._decided(reason)

    @transition(
        field=state,
        source=[AppealState.SUBMITTED, AppealState.IN_REVIEW, AppealState.PENDING_APPROVAL],
        target=AppealState.ESCALATED,
        permission=_assignee_or_supervisor,
    )
    def escalate(self, *, by=None, at=None):
        """Manual (the assignee or a supervisor) or scheduled (SLA breach, `by` is None; the sweep passes
        one time `at` for its whole batch, which it writes in one UPDATE)."""
        self.escalated_at = at or timezone.now()

    @transition(field=state, source=AppealState.ESCALATED, target=AppealState.IN_REVIEW, permission=_supervisor)
    def resume(self, *, by, assignee):
        self.assignee = assignee

    @transition(field=state, source=list(OPEN_STATES), target=AppealState.WITHDRAWN)
    def withdraw(self):
        self.closed_at = timezone.now()

    @transition(field=state, source=AppealState.AWAITING_INFO, target=AppealState.CLOSED)
    def abandon(self):
        """No answer from the appellant in time (scheduled)."""
        self.closed_at = timezone.now()

    # --- The fulfilment machine (a second FSMField): released on approval (or held first: tickets/services/hold.py),
    # reported by the platform.

    def _released(self, at=None) -> None:
        self.fulfilment_release += 1
        self.released_at = at or timezone.now()
        self.fulfilment_reported_at = None
        self.fulfilment_overdue_at = None

    @transition(field=fulfilment, source=FulfilmentState.NOT_RELEASED, target=FulfilmentState.HELD, conditions=[_approved])
    def hold(self, *, until):
        """A security hold: released by the sweep at `until`, unless a registered contact objects."""
        self.hold_number += 1
        self.hold_started_at = timezone.now()
        self.hold_until = until

    @transition(
        field=fulfilment,
        source=[FulfilmentState.NOT_RELEASED, FulfilmentState.HELD],
        target=FulfilmentState.RELEASED,
        conditions=[_approved],
    )
    def release(self, *, at=None):
        """`at`: the release sweep passes one time for its whole batch, which it writes in one UPDATE."""
        self._released(at)

    @transition(field=fulfilment, source=FulfilmentState.HELD, target=FulfilmentState.NOT_RELEASED)
    def stop_release(self):
        """A registered contact objected during the hold: nothing goes to the platform."""
        self.takeover_suspected = True
        self.objected_at = timezone.now()

    @transition(field=state, source=AppealState.APPROVED, target=AppealState.ESCALATED, conditions=[_held])
    def escalate_suspected_takeover(self):
        """The approval is undone and goes to the supervisors, in a new SLA cycle (runs with stop_release)."""
        now = timezone.now()
        self.closed_at = None
        self.decision_reason = ""
        self.proposed_by = None
        self.escalated_at = now
        self.sla_clock_start(now)
        self.sla_cycle += 1

    @transition(
        field=fulfilment,
        source=FulfilmentState.FAILED,
        target=FulfilmentState.RELEASED,
        conditions=[_approved],
        permission=_assignee_or_supervisor,
    )
    def release_again(self, *, by):
        self._released()

    def _reported(self, detail: str) -> None:
        self.fulfilment_reported_at = timezone.now()
        self.fulfilment_detail = detail

    @transition(field=fulfilment, source=[FulfilmentState.RELEASED, FulfilmentState.FAILED], target=FulfilmentState.DONE)
    def report_done(self, *, detail: str = ""):
        self._reported(detail)

    @transition(field=fulfilment, source=FulfilmentState.RELEASED, target=FulfilmentState.FAILED)
    def report_failed(self, *, detail: str = ""):
        self._reported(detail)

    @property
    def fulfilment_overdue(self) -> bool:
        """Released and not reported within FULFILMENT_OVERDUE_HOURS (flagged by the sweep, or due and not yet swept)."""
        if self.fulfilment != FulfilmentState.RELEASED or self.released_at is None:
            return False
        return self.fulfilment_overdue_at is not None or timezone.now() - self.released_at >= timedelta(
            hours=settings.FULFILMENT_OVERDUE_HOURS
        )

    @transition(field=state, source=AppealState.REJECTED, target=AppealState.SUBMITTED, conditions=[_within_reopen_window])
    def reopen(self):
        """The appellant reopens with new evidence: a new SLA cycle, back in the queue."""
        self.closed_at = None
        self.decision_reason = ""
        self.proposed_by = None
        self.assignee = None
        self.sla_clock_start(timezone.now())
        self.sla_cycle += 1
        self.escalated_at = None


class RechargeRecord(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="recharge_records")
    order_number = models.CharField(_("order number"), max_length=64)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    paid_at = models.DateTimeField(_("paid at"))
    product = models.CharField(_("product"), max_length=120, blank=True)

    class Meta:
        ordering = ["paid_at"]
        verbose_name = _("recharge record")
        verbose_name_plural = _("recharge records")

    def __str__(self) -> str:
        return f"{self.order_number} {self.amount} {self.currency}"


class LoginDeviceRecord(models.Model):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="device_records")
    seen_at = models.DateTimeField(_("seen at"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    device_model = models.CharField(_("device model"), max_length=100)
    device_id = models.CharField(_("device ID / MAC"), max_length=100, blank=True)
    location = models.CharField(_("location"), max_length=100, blank=True)

    class Meta:
        ordering = ["seen_at"]
        verbose_name = _("login device record")
        verbose_name_plural = _("login device records")
        # The velocity cap and signal count the appeals naming a device ID (tickets/risk/services.py).
        indexes = [models.Index(fields=["device_id"], name="device_record_device_id", condition=~models.Q(device_id=""))]

    def __str__(self) -> str:
        return f"{self.device_model} {self.seen_at:%Y-%m-%d %H:%M}"


class AppealEvent(models.Model):
    """The audit trail: every transition and every message, in order."""

    class Kind(models.TextChoices):
        SUBMIT = "submit", _("Appeal submitted")
        CLAIM = "claim", _("Claimed by an agent")
        ASSIGN = "assign", _("Assigned")
        REQUEST_INFO = "request_info", _("More information requested")
        PROVIDE_INFO = "provide_info", _("Information provided")
        PROPOSE_APPROVAL = "propose_approval", _("Approval proposed")
        SECOND_APPROVE = "second_approve", _("Approved (second approval)")
        SEND_BACK = "send_back", _("Sent back for review")
        APPROVE = "approve", _("Approved")
        REJECT = "reject", _("Rejected")
        ESCALATE = "escalate", _("Escalated")
        RESUME = "resume", _("Resumed")
        WITHDRAW = "withdraw", _("Withdrawn by the appellant")
        ABANDON = "abandon", _("Closed: no answer from the appellant")
        REOPEN = "reopen", _("Reopened by the appellant")
        NOTE = "note", _("Internal note")
        REPLY = "reply", _("Reply from support")
        EVIDENCE_VERIFIED = "evidence_verified", _("Evidence verified")
        EVIDENCE_UNVERIFIED = "evidence_unverified", _("Evidence verification withdrawn")
        EVIDENCE_VIEWED = "evidence_viewed", _("Evidence viewed")
        EVIDENCE_REASON = "evidence_reason", _("Reason given to see the evidence")
        EVIDENCE_REJECTED = "evidence_rejected", _("Evidence refused")
        EVIDENCE_PURGED = "evidence_purged", _("Evidence files deleted (retention)")
        EVIDENCE_REPLACED = "evidence_replaced", _("Refused file replaced by the appellant")
        TRACKING_LINK = "tracking_link", _("Tracking link requested")
        LEGAL_HOLD = "legal_hold", _("Legal hold")
        HOLD = "hold", _("Security hold: the decision takes effect later")
        HOLD_OBJECTION = "hold_objection", _("Stopped by the account's registered contact")
        RELEASE = "release", _("Released to the platform")
        RELEASE_AGAIN = "release_again", _("Released to the platform again")
        FULFILMENT_DONE = "fulfilment_done", _("Carried out by the platform")
        FULFILMENT_FAILED = "fulfilment_failed", _("The platform could not carry it out")
        FULFILMENT_OVERDUE = "fulfilment_overdue", _("Fulfilment overdue")
        FRESH_PHOTO_CODE_CONFIRMED = "fresh_photo_code_confirmed", _("Code in the handheld photo confirmed")
        OUTCOME = "outcome", _("Outcome recorded")
        SATISFACTION = "satisfaction", _("Satisfaction rating received")
        DATA_DOWNLOADED = "data_downloaded", _("Your data downloaded")
        ID_IMAGES_DELETED = "id_images_deleted", _("Identity-document images deleted at your request")
        TRACKING_LINKS_REVOKED = "tracking_links_revoked", _("Other devices signed out")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    # Who acted when there is no user: "appellant" or "system".
    actor_label = models.CharField(max_length=32, blank=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    comment = models.TextField(blank=True)
    public = models.BooleanField(default=True, help_text=_("Shown to the appellant on the status page."))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        # The second: the audit export reads every appeal's events by date range (tickets/reports/audit.py).
        indexes = [models.Index(fields=["appeal", "created_at"]), models.Index(fields=["created_at", "id"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class OutboundEmail(models.Model):
    """The outbox: written in the transaction that causes the e-mail, delivered by Celery after it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    appeal = models.ForeignKey(Appeal, null=True, blank=True, on_delete=models.SET_NULL, related_name="emails")
    template = models.CharField(max_length=64)
    to = models.EmailField()
    subject = models.CharField(max_length=255)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # The recipient's language, for an e-mail the worker renders (notifications.RENDERED_BY_WORKER);
    # empty for one rendered when it was written.
    language = models.CharField(max_length=10, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # The committed "sending" claim: when a worker took the row and which attempt it is. A row left
    # in SENDING (its worker died) is taken again only once OUTBOX_SENDING_LEASE has passed.
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_pending_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_at"],
                name="outbox_sending_idx",
                condition=models.Q(status="sending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.to} ({self.status})"

    @property
    def message_id(self) -> str:
        # Stable per row: a resend after a crash carries the same Message-ID, so mail systems can
        # recognise it as the same message.
        domain = settings.SITE_URL.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
        return f"<outbox-{self.pk}@{domain}>"


class SlaEvent(models.Model):
    """What the SLA sweep did: at most one of each kind per appeal and cycle (a unique constraint,
    so that repeated or concurrent sweeps can never act twice)."""

    class Kind(models.TextChoices):
        WARNING = "warning", _("SLA warning (75 %)")
        BREACH = "breach", _("SLA breach")
        SECOND_BREACH = "second_breach", _("SLA breach 24 h after escalation")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    cycle = models.PositiveSmallIntegerField()
    recipients = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "kind", "cycle"], name="sla_event_once_per_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (cycle {self.cycle})"


class HoldNotice(models.Model):
    """One registered contact of the account told of one security hold (tickets/services/hold.py), and
    whether they stopped it with their signed link. Unique per hold and contact: told once per hold."""

    class Source(models.TextChoices):
        PLATFORM = "platform", _("The platform")
        APPELLANT = "appellant", _("Named by the appellant")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="hold_notices")
    hold = models.PositiveSmallIntegerField(_("hold number"))
    kind = models.CharField(_("kind"), max_length=10)  # "email" or "phone", as registered_contacts
    value = models.CharField(_("contact"), max_length=254)
    source = models.CharField(_("given by"), max_length=10, choices=Source.choices)
    # The notice e-mail (None: a phone number, which no channel reaches yet).
    email = models.ForeignKey(OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("told at"), default=timezone.now)
    objected_at = models.DateTimeField(_("objected at"), null=True, blank=True)
    objection_note = models.TextField(_("what they wrote"), max_length=1000, blank=True)
    objection_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("security hold notice")
        verbose_name_plural = _("security hold notices")
        constraints = [
            models.UniqueConstraint(fields=["appeal", "hold", "kind", "value"], name="hold_notice_once_per_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal_id} hold {self.hold} → {self.kind}"


class FulfilmentOverdue(models.Model):
    """The overdue sweep's record: at most one per appeal and release (a unique constraint, so that
    repeated or concurrent sweeps alert once)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="fulfilment_overdues")
    release = models.PositiveSmallIntegerField()
    recipients = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["appeal", "release"], name="fulfilment_overdue_once_per_release"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal} overdue (release {self.release})"


class RiskSignal(models.TextChoices):
    """What can raise an appeal's risk score (tickets/risk/services.py computes them)."""

    SAME_PHOTO = "same_photo", _("Same photo as appeals for other accounts")
    SAME_ID_NUMBER = "same_id_number", _("Same ID number for other accounts")
    SAME_IP = "same_ip", _("Many appeals from the same address in 24 h")
    SAME_EMAIL = "same_email", _("Many appeals from the same e-mail in 24 h")
    COOLING_OFF = "cooling_off", _("Cooling-off")
    VELOCITY_ID_NUMBER = "velocity_id_number", _("Several appeals for this ID number in 30 days")
    VELOCITY_PHONE = "velocity_phone", _("Several appeals from this phone in 30 days")
    VELOCITY_EMAIL = "velocity_email", _("Several appeals from this e-mail in 30 days")
    VELOCITY_DEVICE = "velocity_device", _("Several appeals naming this device ID in 30 days")
    DISPOSABLE_EMAIL = "disposable_email", _("Disposable e-mail address")
    ADDRESS_NOT_DEVICE = "address_not_device", _("Filed from an address none of the declared devices used")
    PHOTO_EDITED = "photo_edited", _("A photo's metadata names editing software")
    PHOTO_TIME = "photo_time", _("A photo's capture time does not fit")
    FRESH_PHOTO_CODE_MISSING = "fresh_photo_code_missing", _("No fresh-photo code for the handheld photo")
    OTHER_CONTACT = "other_contact", _("Another appeal for this account from a different e-mail in 12 months")


# The points each signal adds when no weight is set in the admin (also the seeded weights).
RISK_DEFAULT_WEIGHTS = {
    RiskSignal.SAME_PHOTO: 40,
    RiskSignal.SAME_ID_NUMBER: 35,
    RiskSignal.SAME_IP: 10,
    RiskSignal.SAME_EMAIL: 10,
    RiskSignal.COOLING_OFF: 25,
    RiskSignal.VELOCITY_ID_NUMBER: 20,
    RiskSignal.VELOCITY_PHONE: 10,
    RiskSignal.VELOCITY_EMAIL: 10,
    RiskSignal.VELOCITY_DEVICE: 10,
    RiskSignal.DISPOSABLE_EMAIL: 20,
    RiskSignal.ADDRESS_NOT_DEVICE: 10,
    RiskSignal.PHOTO_EDITED: 30,
    RiskSignal.PHOTO_TIME: 15,
    RiskSignal.FRESH_PHOTO_CODE_MISSING: 25,
    RiskSignal.OTHER_CONTACT: 25,
}


class RiskWeight(models.Model):
    """How many points (0-100) a signal adds to the risk score; set by supervisors in the admin."""

    signal = models.CharField(_("signal"), max_length=32, choices=RiskSignal.choices, unique=True)
    weight = models.PositiveSmallIntegerField(_("points"), validators=[MaxValueValidator(100)])

    class Meta:
        ordering = ["signal"]
        verbose_name = _("risk weight")
        verbose_name_plural = _("risk weights")

    def __str__(self) -> str:
        return f"{self.get_signal_display()}: {self.weight}"


class StaffSessionGeneration(models.Model):
    """A staff member's session generation: each sign-in stores it in the session, "sign out everywhere"
    increments it, and the staff-session middleware ends every session that carries an older number.
    It works with any session backend (nothing needs to find the user's sessions). No row: generation 0."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="+")
    generation = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"user {self.user_id}: {self.generation}"


class StaffOIDCLink(models.Model):
    """A staff account's identity at the single sign-on provider: its issuer and subject (`sub`), which
    never change, unlike an e-mail address. Made at the first sign-in (supportdesk/sso.py); an account
    is found by its link afterwards, never by e-mail again."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_link")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="staff_oidc_link_unique_subject")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"


class StaffSecurityEvent(models.Model):
    """The staff's own audit trail, beside the appeals' (AppealEvent): sessions ended everywhere, audit
    exports, single sign-on, and second factors added, used, refused, removed or reset. Listed by the
    audit export (what=staff)."""

    class Kind(models.TextChoices):
        SIGN_OUT_EVERYWHERE = "sign_out_everywhere", _("Signed out everywhere")
        AUDIT_EXPORT = "audit_export", _("Audit log exported")
        TWO_FACTOR_ENROLLED = "two_factor_enrolled", _("Second factor added")
        TWO_FACTOR_REMOVED = "two_factor_removed", _("Second factor removed")
        RECOVERY_CODES_ISSUED = "recovery_codes_issued", _("Recovery codes issued")
        TWO_FACTOR_VERIFIED = "two_factor_verified", _("Signed in with a second factor")
        TWO_FACTOR_FAILED = "two_factor_failed", _("Second factor refused")
        TWO_FACTOR_RESET = "two_factor_reset", _("Two-factor reset by an administrator")
        SSO_SIGN_IN = "sso_sign_in", _("Signed in with single sign-on")
        SSO_REFUSED = "sso_refused", _("Single sign-on refused")
        PASSWORD_SIGN_IN_REFUSED = "password_sign_in_refused", _("Password sign-in refused (single sign-on only)")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Who acted, and whom it concerned (the same person when one signs oneself out).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.CharField(max_length=255, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class AssignmentStrategy(models.TextChoices):
    """How automatic assignment (tickets/assignment/services.py) picks among the agents with room."""

    LEAST_LOADED = "least_loaded", _("Least loaded: the agent holding the fewest open appeals")
    ROUND_ROBIN = "round_robin", _("Round robin: each agent in turn")


class AgentProfile(models.Model):
    """An agent's place in automatic assignment: on duty or away, how many open appeals they hold at most,
    and what they can take (appeal types and the appellant's language; none chosen: any). Edited in the
    admin, and the on duty / away switch by the agents themselves in the console. An agent without a
    profile is never assigned automatically (they still claim, and supervisors still assign to them)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="agent_profile",
        verbose_name=_("agent"),
    )
    on_duty = models.BooleanField(_("on duty"), default=True, help_text=_("Away: no new appeals are assigned automatically."))
    capacity = models.PositiveSmallIntegerField(
        _("capacity"),
        default=10,
        validators=[MaxValueValidator(1000)],
        help_text=_("At most this many open appeals held at once through automatic assignment (0: none)."),
    )
    appeal_types = models.ManyToManyField(
        AppealType,
        blank=True,
        related_name="+",
        verbose_name=_("appeal types"),
        help_text=_("The types this agent handles; none chosen: every type."),
    )
    languages = models.JSONField(
        _("languages"),
        default=list,
        blank=True,
        help_text=_('The appellants\' languages this agent handles, e.g. ["zh-hans", "en"]; empty: every language.'),
    )
    # Round robin: the turn at which this agent last received an appeal (the lowest goes next).
    last_turn = models.PositiveBigIntegerField(_("last turn"), default=0, editable=False)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["user__username"]
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)

    def clean(self) -> None:
        known = Appeal.Language.values
        if not isinstance(self.languages, list) or not all(isinstance(code, str) for code in self.languages):
            raise ValidationError(
                {"languages": _("Give a list of language codes, e.g. %(example)s.") % {"example": '["zh-hans"]'}}
            )
        unknown = [code for code in self.languages if code not in known]
        if unknown:
            raise ValidationError(
                {
                    "languages": _("Unknown: %(unknown)s. Known: %(known)s.")
                    % {"unknown": ", ".join(unknown), "known": ", ".join(known)}
                }
            )


class ReasonCode(models.Model):
    """A reason an agent gives, chosen from a list instead of typed: why a file is asked for again (a
    request for information names an evidence kind with one of these) or why an appeal is rejected.
    Managed in the admin, in both languages; counted in the metrics (tickets/reports/reasons.py)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label_zh_hans = models.CharField(_("label (Chinese)"), max_length=120)
    label_en = models.CharField(_("label (English)"), max_length=120)
    evidence_kind = models.CharField(
        _("evidence kind"),
        max_length=32,
        choices=EvidenceKind.choices,
        blank=True,
        help_text=_("The kind of file this reason is about, if any: a request with this reason asks for that kind."),
    )
    for_requests = models.BooleanField(_("for requests for information"), default=True)
    for_rejections = models.BooleanField(_("for rejections"), default=False)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive codes are kept for the appeals that used them but cannot be chosen.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")

    def __str__(self) -> str:
        return f"{self.code} · {self.label}"

    def clean(self) -> None:
        if not (self.for_requests or self.for_rejections):
            raise ValidationError(_("A reason code is for requests for information, for rejections, or both."))

    @property
    def label(self) -> str:
        """The label in the active language (the page's, or the e-mail's recipient's)."""
        lang = (get_language() or settings.LANGUAGE_CODE).lower()
        return (self.label_en if lang.startswith("en") else self.label_zh_hans) or self.label_zh_hans


class AppealReason(models.Model):
    """A reason code given on an appeal: one per evidence kind a request for information asks for (an
    upload slot on the status page, answered when the appellant sends a file of that kind), or the
    reason of a rejection. Written by tickets/services/reasons.py beside the action's event."""

    class Use(models.TextChoices):
        REQUEST = "request", _("Request for information")
        REJECTION = "rejection", _("Rejection")

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="reasons")
    event = models.ForeignKey(AppealEvent, on_delete=models.CASCADE, related_name="reasons")
    use = models.CharField(_("used in"), max_length=10, choices=Use.choices)
    reason = models.ForeignKey(ReasonCode, on_delete=models.PROTECT, related_name="uses", verbose_name=_("reason code"))
    # The kind asked for (a request), or the kind the rejection's reason is about (blank: none).
    evidence_kind = models.CharField(_("evidence kind"), max_length=32, choices=EvidenceKind.choices, blank=True)
    # A request's slot is answered by the first file of its kind the appellant sends after it.
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        "evidence.Evidence", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("answering file")
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("reason given")
        verbose_name_plural = _("reasons given")
        constraints = [
            # One reason per kind in one request: the status page shows one slot per kind.
            models.UniqueConstraint(
                fields=["event", "evidence_kind"], name="appeal_reason_one_per_kind", condition=models.Q(use="request")
            ),
        ]
        # The metrics count uses per code and use.
        indexes = [models.Index(fields=["reason", "use"], name="appeal_reason_code_use")]

    def __str__(self) -> str:
        return f"{self.appeal_id} {self.use} {self.reason_id}"

    @property
    def kind_label(self) -> str:
        return evidence_kind_label(self.evidence_kind) if self.evidence_kind else ""


class SatisfactionRating(models.Model):
    """The appellant's rating of a decision (1-5 and an optional comment), given once per appeal and
    decision cycle through the signed link in the decision e-mail (tickets/services/satisfaction.py).
    Read-only in the admin: nobody edits what an appellant said."""

    SCORES = (1, 2, 3, 4, 5)
    COMMENT_MAX_CHARS = 1000

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="satisfaction_ratings", verbose_name=_("appeal"))
    # The appeal's `sla_cycle` when it was decided: a reopened appeal decided again may be rated again.
    cycle = models.PositiveSmallIntegerField(_("decision cycle"))
    decision_event = models.ForeignKey(
        AppealEvent, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("decision")
    )
    # Who decided and how, kept here so the metrics need no walk through the audit trail.
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("deciding agent"),
    )
    outcome = models.CharField(_("decision"), max_length=20, choices=[(s.value, s.label) for s in DECIDED_STATES])
    score = models.PositiveSmallIntegerField(_("score"), validators=[MaxValueValidator(5)])  # at least 1: the constraint below
    comment = models.TextField(_("comment"), max_length=COMMENT_MAX_CHARS, blank=True)
    created_at = models.DateTimeField(_("rated at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("satisfaction rating")
        verbose_name_plural = _("satisfaction ratings")
        constraints = [
            models.UniqueConstraint(fields=["appeal", "cycle"], name="satisfaction_once_per_decision"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="satisfaction_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.appeal.reference} {self.score}/5"


class CannedReply(models.Model):
    """A reply agents insert from the console's reply box (tickets/canned_replies.py), in one language,
    with placeholders filled for the appeal at hand. Edited in the admin; inactive ones are not offered."""

    # The placeholders a body may use, filled by tickets/canned_replies.py. Anything else in braces is
    # refused when the reply is saved, so that no appellant ever receives "{nmae}".
    PLACEHOLDERS = ("reference", "deadline", "name")
    PLACEHOLDER_PATTERN = re.compile(r"\{[^{}]*\}|[{}]")

    title = models.CharField(_("title"), max_length=100)
    language = models.CharField(_("language"), max_length=8, choices=Appeal.Language.choices)
    body = models.TextField(
        _("body"),
        max_length=4000,
        help_text=_(
            "Placeholders, filled for each appeal: {reference} the appeal's reference; {deadline} the "
            "appellant's reply deadline while we wait on them, else the promised time (Beijing time); "
            "{name} the account name or ID the appellant gave, else their contact e-mail."
        ),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive replies are not offered in the console."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["language", "title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        constraints = [models.UniqueConstraint(fields=["language", "title"], name="canned_reply_title_per_language")]

    def __str__(self) -> str:
        return f"{self.title} ({self.language})"

    @classmethod
    def unknown_placeholders(cls, body: str) -> list[str]:
        """What in `body` is in braces but is not a known placeholder (a stray brace included), in order."""
        known = {"{" + name + "}" for name in cls.PLACEHOLDERS}
        found = [token for token in cls.PLACEHOLDER_PATTERN.findall(body or "") if token not in known]
        return list(dict.fromkeys(found))

    def clean(self) -> None:
        unknown = self.unknown_placeholders(self.body)
        if unknown:
            raise ValidationError(
                {
                    "body": _("Unknown placeholder or stray brace: %(unknown)s. Braces are only for %(known)s.")
                    % {
                        "unknown": " ".join(unknown),
                        "known": ", ".join("{" + name + "}" for name in self.PLACEHOLDERS),
                    }
                }
            )

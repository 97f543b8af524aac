"""Reads that cross models or check access: the console's queues, filters, search, keyset pagination
and one appeal with what it shows; the public pages' appeal behind a tracking link or a confirmation."""

import base64
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from evidence.models import Evidence, EvidenceAccess

from .models import (
    CLOSED_STATES,
    OPEN_STATES,
    SLA_RUNNING_STATES,
    Appeal,
    AppealEvent,
    AppealState,
    AppealType,
    FulfilmentState,
    LoginDeviceRecord,
    RechargeRecord,
)
from .reference import appeal_types_cached
from .roles import SUPERVISORS, is_agent, is_supervisor
from .tracking import TrackingLink, TrackingLinkRevoked, tracking_token_open

DUE_SOON = timedelta(hours=12)


@dataclass(frozen=True)
class Queue:
    code: str
    label: str
    supervisors_only: bool = False
    # Open queues put the nearest SLA first; the decided queue the latest decision first; the
    # fulfilment queue the oldest release first.
    decided: bool = False
    field: str = "sla_due_at"


QUEUES = {
    q.code: q
    for q in (
        Queue("unassigned", _("Unassigned")),
        Queue("mine", _("Mine")),
        Queue("due_soon", _("Due within 12 h")),
        Queue("awaiting", _("Awaiting info")),
        Queue("escalated", _("Escalated")),
        Queue("pending_mine", _("Pending my approval"), supervisors_only=True),
        Queue("open", _("All open")),
        # Open appeals whose risk score reaches RISK_HIGH_THRESHOLD, the highest score first.
        Queue("high_risk", _("High risk"), decided=True, field="risk_score"),
        Queue("decided", _("Decided"), decided=True, field="closed_at"),
        Queue("fulfilment", _("Fulfilment problems"), field="released_at"),
        # Approvals waiting out their security hold, the nearest release first.
        Queue("held", _("On security hold"), field="hold_until"),
        # Approvals drawn for the supervisors' review (RISK_REVIEW_SAMPLE_PERCENT) with no outcome yet.
        Queue("review_sample", _("Review sample"), supervisors_only=True, decided=True, field="closed_at"),
    )
}


def queues_for(user) -> list[Queue]:
    return [q for q in QUEUES.values() if not q.supervisors_only or is_supervisor(user)]


def fulfilment_overdue_before(now=None):
    """Releases before this moment and still unreported are overdue."""
    return (now or timezone.now()) - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS)


def _queue_filter(code: str, user) -> Q:
    if code == "due_soon":  # includes the ones already overdue, nearest first
        return Q(state__in=SLA_RUNNING_STATES, sla_due_at__lte=timezone.now() + DUE_SOON)
    if code == "fulfilment":  # failed on the platform, or released and unreported for too long
        return Q(fulfilment=FulfilmentState.FAILED) | Q(
            fulfilment=FulfilmentState.RELEASED, released_at__lte=fulfilment_overdue_before()
        )
    return {
        "unassigned": Q(state__in=OPEN_STATES, assignee__isnull=True),
        "mine": Q(state__in=OPEN_STATES, assignee=user),
        "awaiting": Q(state=AppealState.AWAITING_INFO),
        "escalated": Q(state=AppealState.ESCALATED),
        "pending_mine": Q(state=AppealState.PENDING_APPROVAL) & ~Q(proposed_by=user),
        "open": Q(state__in=OPEN_STATES),
        "high_risk": Q(state__in=OPEN_STATES, risk_score__gte=settings.RISK_HIGH_THRESHOLD),
        "decided": Q(state__in=CLOSED_STATES),
        "review_sample": Q(state=AppealState.APPROVED, review_sampled=True, outcome=""),
        "held": Q(fulfilment=FulfilmentState.HELD),
    }[code]


def _search(term: str) -> Q:
    """Exact matches on indexed columns (reference, e-mail, account, phones): fast on a million rows."""
    term = term.strip()
    return (
        Q(reference=term.upper())
        | Q(contact_email__iexact=term)
        | Q(account_identifier__iexact=term)
        | Q(registered_phone=term)
        | Q(contact_phone=term)
    )


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    is_first: bool


def _cursor_encode(value, pk: int) -> str:
    """A moment (the SLA, decision or release time) or a number (the risk score), then the id."""
    text = str(value) if isinstance(value, int) else value.isoformat()
    return base64.urlsafe_b64encode(f"{text}|{pk}".encode()).decode()


def _cursor_decode(cursor: str, *, numeric: bool = False):
    try:
        value, pk = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        position = int(value) if numeric else parse_datetime(value)
        if position is None:
            raise ValueError
        return position, int(pk)
    except (ValueError, UnicodeDecodeError):
        return None


NUMERIC_SORT_FIELDS = ("risk_score",)


def keyset_page(qs: QuerySet, *, field: str, descending: bool, after: str | None, size: int, row=None) -> Page:
    """One page ordered by (field, pk): no OFFSET and no COUNT. The cursor is a row comparison,
    `(field, id) > (v, p)` (`<` descending), in the column order of the queues' partial indexes, so
    PostgreSQL starts the index scan at the cursor (an Index Cond) and reads one page of rows, however
    deep the page. The equivalent `field > v OR (field = v AND id > p)` cannot bound an index scan:
    it reads, and filters out, every row of the earlier pages. `row` builds each row from a
    values_list queryset's tuples (it needs attributes `pk` and `field`)."""
    qs = qs.filter(**{f"{field}__isnull": False})
    order = "-" if descending else ""
    qs = qs.order_by(f"{order}{field}", f"{order}pk")
    position = _cursor_decode(after, numeric=field in NUMERIC_SORT_FIELDS) if after else None
    if position:
        after_row = TupleLessThan if descending else TupleGreaterThan
        qs = qs.filter(after_row(Tuple(F(field), F("pk")), position))
    rows = list(qs[: size + 1]) if row is None else [row(*values) for values in qs[: size + 1]]
    has_next = len(rows) > size
    rows = rows[:size]
    next_cursor = _cursor_encode(getattr(rows[-1], field), rows[-1].pk) if has_next else None
    return Page(rows=rows, next_cursor=next_cursor, is_first=position is None)


@dataclass(slots=True)
class QueueAppeal:
    """What a queue row shows of an appeal, read as plain values: a page builds up to 201 of these,
    and full model instances cost more to build than the query did to run."""

    pk: int
    reference: str
    appeal_type_id: int
    state: str
    assignee_id: int | None
    sla_due_at: object
    created_at: object
    closed_at: object
    cooling_off_of_id: int | None
    answered_at: object
    fulfilment: str
    released_at: object
    risk_score: int
    risk_signals: list
    hold_until: object
    takeover_suspected: bool
    appeal_type: object = None  # the cached AppealType, set by appeal_list_for_agent

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


QUEUE_ROW_COLUMNS = (
    "pk",
    "reference",
    "appeal_type_id",
    "state",
    "assignee_id",
    "sla_due_at",
    "created_at",
    "closed_at",
    "cooling_off_of_id",
    "answered_at",
    "fulfilment",
    "released_at",
    "risk_score",
    "risk_signals",
    "hold_until",
    "takeover_suspected",
)


def appeal_list_for_agent(*, user, queue: str, filters: dict, after: str | None = None, size: int = 50) -> Page:
    spec = QUEUES.get(queue) or QUEUES["open"]
    if spec.supervisors_only and not is_supervisor(user):
        spec = QUEUES["open"]
    # Only what a queue row shows (and the cursor's columns), as values; the type comes from the
    # cache, the assignee's name from the cached agent list (desk_views), not from joins.
    qs = Appeal.objects.filter(_queue_filter(spec.code, user))
    if filters.get("appeal_type"):
        qs = qs.filter(appeal_type=filters["appeal_type"])
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("assignee"):
        qs = qs.filter(assignee=filters["assignee"])
    if filters.get("risk"):  # the types of that risk, from the cache: no join
        qs = qs.filter(appeal_type_id__in=[pk for pk, t in appeal_types_cached().items() if t.risk == filters["risk"]])
    if filters.get("q"):
        qs = qs.filter(_search(filters["q"]))
    if filters.get("min_score") is not None:
        qs = qs.filter(risk_score__gte=filters["min_score"])
    qs = qs.values_list(*QUEUE_ROW_COLUMNS)
    if filters.get("sort") == "risk" and spec.code != "decided":
        # The highest score first, with its own cursor: the open queues walk `appeal_open_risk`.
        page = keyset_page(qs, field="risk_score", descending=True, after=after, size=size, row=QueueAppeal)
    elif spec.code == "mine":
        page = answered_first_page(qs, after=after, size=size, row=QueueAppeal)
    else:
        page = keyset_page(qs, field=spec.field, descending=spec.decided, after=after, size=size, row=QueueAppeal)
    types = appeal_types_cached()
    for appeal in page.rows:
        appeal.appeal_type = types[appeal.appeal_type_id]
    return page


ANSWERED, REST = "answered.", "rest."


def answered_first_page(qs: QuerySet, *, after: str | None, size: int, row=None) -> Page:
    """The appeals the appellant answered (not yet seen by the assignee) first, then the others, each
    part in SLA order. Two keyset walks, one after the other: the cursor says which part it is in
    (`answered.<cursor>` or `rest.<cursor>`), so every page stays a bounded, indexed read."""
    answered, rest = qs.filter(answered_at__isnull=False), qs.filter(answered_at__isnull=True)
    rows = {"row": row}
    if after and after.startswith(REST):
        page = keyset_page(rest, field="sla_due_at", descending=False, after=after.removeprefix(REST), size=size, **rows)
        return Page(rows=page.rows, next_cursor=f"{REST}{page.next_cursor}" if page.next_cursor else None, is_first=False)
    cursor = after.removeprefix(ANSWERED) if after and after.startswith(ANSWERED) else None
    page = keyset_page(answered, field="sla_due_at", descending=False, after=cursor, size=size, **rows)
    if page.next_cursor:
        return Page(rows=page.rows, next_cursor=f"{ANSWERED}{page.next_cursor}", is_first=page.is_first)
    # The answered part ends on this page: fill it up from the start of the others.
    room = size - len(page.rows)
    more = keyset_page(rest, field="sla_due_at", descending=False, after=None, size=room, **rows) if room else None
    if more is None:
        has_more = rest.filter(sla_due_at__isnull=False).exists()
        return Page(rows=page.rows, next_cursor=REST if has_more else None, is_first=page.is_first)
    return Page(
        rows=page.rows + more.rows, next_cursor=f"{REST}{more.next_cursor}" if more.next_cursor else None, is_first=page.is_first
    )


def access_appeal(*, user, reference: str, with_page: bool = True) -> Appeal:
    """One appeal for the console; 404 for anyone who is not staff, as for a reference that does not
    exist. `with_page` brings everything the appeal's page shows; an action only needs the row (its
    service locks and re-reads it)."""
    if not is_agent(user):
        raise Http404
    appeals = Appeal.objects.all()
    if with_page:
        appeals = appeals.select_related("appeal_type", "assignee", "proposed_by", "cooling_off_of").prefetch_related(
            # Records are read a page at a time (appeal_records_page), never all at once.
            "evidence",
            Prefetch("events", queryset=AppealEvent.objects.select_related("actor")),
        )
    appeal = appeals.filter(reference=reference).first()
    if appeal is None:
        raise Http404
    return appeal


def access_appeal_list(*, user, references: list[str]) -> QuerySet:
    """The appeals of these references the console user may act on (none for anyone else), with their type."""
    if not is_agent(user):
        return Appeal.objects.none()
    return Appeal.objects.filter(reference__in=references).select_related("appeal_type")


def access_evidence(*, user, reference: str, evidence_id) -> Evidence:
    """One evidence file of an appeal, for the console; 404 as `access_appeal`, and for a file of another appeal."""
    if not is_agent(user):
        raise Http404
    evidence = Evidence.objects.filter(pk=evidence_id, appeal__reference=reference).first()
    if evidence is None:
        raise Http404
    return evidence


def user_names(pks) -> dict[str, str]:
    """Usernames by (string) id, for people the cached agent list does not hold (former agents)."""
    return {str(pk): name for pk, name in get_user_model().objects.filter(pk__in=pks).values_list("pk", "username")}


# The public pages: what the appellant reaches by a tracking link or the browser that filed the appeal.


def appeal_type_list_active() -> QuerySet:
    return AppealType.objects.filter(is_active=True)


def appeal_type_get_active(*, code: str) -> AppealType:
    """The type a new appeal is filed under; 404 for an unknown or retired one."""
    appeal_type = appeal_type_list_active().filter(code=code).first()
    if appeal_type is None:
        raise Http404
    return appeal_type


def appeal_for_submitter(*, submitted: list[str], reference: str) -> Appeal:
    """The appeal behind a confirmation page, only for the browser that filed it (`submitted`, the
    references in its session); to anyone else, the same 404 as a reference that does not exist."""
    if reference not in submitted:
        raise Http404
    appeal = Appeal.objects.select_related("appeal_type").filter(reference=reference).first()
    if appeal is None:
        raise Http404
    return appeal


def appeal_for_tracking_token(*, token: str) -> tuple[Appeal, TrackingLink]:
    """The appeal a signed tracking link opens, with what its status page shows (its files and public
    events, as `public_events`). Raises TrackingLinkExpired or TrackingLinkInvalid for a bad link
    (TrackingLinkRevoked, an expired one, for a link older than the appeal's last "sign out other
    devices"), 404 when its appeal no longer exists."""
    link = tracking_token_open(token)
    appeal = (
        Appeal.objects.select_related("appeal_type")
        .prefetch_related(
            "evidence",
            Prefetch("events", queryset=AppealEvent.objects.filter(public=True), to_attr="public_events"),
        )
        .filter(reference=link.reference)
        .first()
    )
    if appeal is None:
        raise Http404
    if link.generation != appeal.tracking_generation:
        raise TrackingLinkRevoked  # made before the appellant signed out other devices
    return appeal, link


@dataclass(frozen=True)
class FileView:
    """Views of one file by one kind of viewer within one minute (the file, its thumbnail, its pages
    folded together), as the appellant is shown them: by role, never by name."""

    at: object  # the minute's first view (a datetime)
    viewer: str  # a key of VIEWER_LABELS
    count: int

    @property
    def viewer_label(self) -> str:
        return str(VIEWER_LABELS[self.viewer])


VIEWER_LABELS = {
    "appellant": _("You"),
    "agent": _("An agent"),
    "supervisor": _("A supervisor"),
    "staff": _("A former staff member"),  # the user was deleted since: the log keeps the view
}
# The most recent views listed per file (the page and the download say how many more there were).
FILE_VIEWS_SHOWN = 50


def evidence_views_for_appellant(*, appeal: Appeal) -> dict:
    """{evidence id: [FileView, newest first]} from the evidence access log, for the appeal's status
    page and data download: who viewed which file when, by role only (agent, supervisor, the appellant).
    One query; a supervisor is a member of the supervisors group or a superuser (tickets/roles.py)."""
    supervisor = Exists(get_user_model().groups.through.objects.filter(user_id=OuterRef("user_id"), group__name=SUPERVISORS))
    rows = (
        EvidenceAccess.objects.filter(evidence__appeal=appeal)
        .annotate(supervisor=supervisor)
        .order_by("-created_at", "-pk")
        .values_list("evidence_id", "created_at", "by_appellant", "user_id", "user__is_superuser", "supervisor")
    )
    views: dict = {}
    for evidence_id, at, by_appellant, user_id, superuser, in_group in rows.iterator(chunk_size=2000):
        if by_appellant:
            viewer = "appellant"
        elif user_id is None:
            viewer = "staff"
        else:
            viewer = "supervisor" if superuser or in_group else "agent"
        listed = views.setdefault(evidence_id, [])
        last = listed[-1] if listed else None
        if last is not None and last.viewer == viewer and last.at - at < timedelta(minutes=1):
            listed[-1] = FileView(at=last.at, viewer=viewer, count=last.count + 1)
        else:
            listed.append(FileView(at=at, viewer=viewer, count=1))
    return views


@dataclass
class RecordsPage:
    """One page of an appeal's records: the same page number in both kinds, with their counts."""

    recharge: list
    devices: list
    recharge_count: int
    device_count: int
    number: int
    pages: int

    @property
    def total(self) -> int:
        return self.recharge_count + self.device_count

    @property
    def previous_number(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next_number(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def appeal_records_page(*, appeal: Appeal, page: str | int | None = 1, size: int | None = None) -> RecordsPage:
    """Page `page` (from 1; anything unreadable is 1, past the end the last) of the appeal's recharge and
    login-device records, `size` of each kind: four small queries however many records there are."""
    size = size or settings.APPEAL_RECORDS_PAGE_SIZE
    recharge = RechargeRecord.objects.filter(appeal=appeal).order_by("paid_at", "pk")
    devices = LoginDeviceRecord.objects.filter(appeal=appeal).order_by("seen_at", "pk")
    recharge_count, device_count = recharge.count(), devices.count()
    pages = max(1, -(-max(recharge_count, device_count) // size))
    try:
        number = min(max(int(page), 1), pages)
    except (TypeError, ValueError):
        number = 1
    start = (number - 1) * size
    return RecordsPage(
        recharge=list(recharge[start : start + size]) if start < recharge_count else [],
        devices=list(devices[start : start + size]) if start < device_count else [],
        recharge_count=recharge_count,
        device_count=device_count,
        number=number,
        pages=pages,
    )


def sla_status(appeal: Appeal, now=None) -> tuple[str, str, int | None]:
    """(kind, css class, seconds left) for the console's SLA column."""
    if not appeal.is_open or appeal.sla_due_at is None:
        return "stopped", "secondary", None
    if appeal.state == AppealState.AWAITING_INFO:
        return "paused", "info", None
    now = now or timezone.now()
    left = int((appeal.sla_due_at - now).total_seconds())
    target = appeal.appeal_type.sla_hours * 3600
    if left < 0:
        return "overdue", "danger", left
    if left <= target * 0.25:
        return "near", "warning", left
    return "ok", "success", left


def appeal_for_integration(*, integration, reference: str) -> Appeal:
    """An appeal's public status for a platform: the appeals it filed through the API (and those filed
    on the public form, when it receives them); to it, any other is the same 404 as a reference that
    does not exist. With the appeal's public events (`public_events`), as the status page shows them."""
    own = Q(integration=integration)
    if integration.receives_portal_appeals:
        own |= Q(integration__isnull=True)
    appeal = (
        Appeal.objects.select_related("appeal_type")
        .prefetch_related(Prefetch("events", queryset=AppealEvent.objects.filter(public=True), to_attr="public_events"))
        .filter(own, reference=reference)
        .first()
    )
    if appeal is None:
        raise Http404
    return appeal


@dataclass
class SecurityHold:
    """What the console shows of an appeal's security holds: each notice sent (with its e-mail's
    delivery), and the registered contacts no channel reaches (phone numbers, until SMS)."""

    notices: list
    unreachable: list[str]
    contacts_known: bool


def appeal_security_hold(*, appeal: Appeal) -> SecurityHold | None:
    """None when the appeal was never held and has no registered contacts."""
    contacts = [c for c in appeal.registered_contacts or [] if isinstance(c, dict)]
    if not appeal.hold_number and not contacts:
        return None
    notices = list(appeal.hold_notices.select_related("email").order_by("-hold", "created_at", "pk"))
    unreachable = [str(c.get("value", "")) for c in contacts if c.get("kind") != "email"]
    return SecurityHold(notices=notices, unreachable=unreachable, contacts_known=bool(contacts))

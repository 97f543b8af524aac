"""Who may see an appeal's evidence files: the access decision behind `/evidence/<uuid>/`.

Need-to-know. Every evidence file is personal data (identity documents above all, but also photos,
records and certificates), so one rule covers them all:
- on an open appeal, its assignee, the agent who proposed its approval, whoever approved it (an
  approval undone by a registered contact's objection reopens it), and the supervisors see its files;
  any other agent first states a reason (`evidence/reasons.py`), which lets them see that appeal's
  files for EVIDENCE_REASON_GRANT_MINUTES;
- on a decided, withdrawn or closed appeal, only the supervisors, and they too state a reason first;
- the appellant, through the browser session that opened a valid tracking link for that appeal
  (`appellant_grant`), until that link expires, the appellant signs out other devices (a newer link
  generation), or the appeal is withdrawn.
Every reason is stored, written on the appeal's timeline and listed in the supervisors' daily digest.
The consent text (tickets/portal/forms.py `consent_text`) says exactly this."""

from datetime import UTC, datetime

from django.utils import timezone as django_timezone

from tickets.models import AppealEvent, AppealState
from tickets.roles import is_agent, is_supervisor

from .models import EvidenceAccessReason

TRACKED_SESSION_KEY = "tracked_appeals"
MAX_GRANTS = 20
APPROVALS = (AppealEvent.Kind.APPROVE, AppealEvent.Kind.SECOND_APPROVE)


def evidence_seen_without_reason(*, user, appeal) -> bool:
    """Those who see an open appeal's files as part of their work: no reason asked."""
    if not is_agent(user) or not appeal.is_open:
        return False
    if is_supervisor(user) or user.pk in (appeal.assignee_id, appeal.proposed_by_id):
        return True
    return _approved_by(appeal, user)


def _approved_by(appeal, user) -> bool:
    prefetched = getattr(appeal, "_prefetched_objects_cache", {}).get("events")
    if prefetched is not None:  # the console's appeal page holds its events already: no query
        return any(event.actor_id == user.pk and event.kind in APPROVALS for event in prefetched)
    return AppealEvent.objects.filter(appeal=appeal, actor=user, kind__in=APPROVALS).exists()


def evidence_reason_allowed(*, user, appeal) -> bool:
    """Who may state a reason to see the files: any agent on an open appeal, supervisors on any appeal."""
    return is_supervisor(user) or (is_agent(user) and appeal.is_open)


def evidence_reason_granted_until(*, user, appeal) -> datetime | None:
    """Until when a reason this user stated lets them see the appeal's files; None: no such reason."""
    if not evidence_reason_allowed(user=user, appeal=appeal):
        return None
    grants = EvidenceAccessReason.objects.filter(appeal=appeal, user=user, expires_at__gt=django_timezone.now())
    return grants.order_by("-expires_at").values_list("expires_at", flat=True).first()


def evidence_visible_to_staff(*, user, appeal) -> bool:
    """Whether this console user may open the appeal's evidence files (and see their thumbnails)."""
    if evidence_seen_without_reason(user=user, appeal=appeal):
        return True
    return evidence_reason_granted_until(user=user, appeal=appeal) is not None


def appellant_grant(request, reference: str, expires_at: datetime, generation: int = 0) -> None:
    """Called by the status page once its signed link checked out: this browser may see the
    appeal's evidence until the link expires, while the appeal's `tracking_generation` is still
    `generation` (the link's). A new grant gets a new session key, so that a session id planted in
    the browser beforehand never carries the grant (session fixation)."""
    grants = request.session.get(TRACKED_SESSION_KEY)
    grants = dict(grants) if isinstance(grants, dict) else {}
    expiry = int(expires_at.timestamp())
    held_expiry, held_generation = _grant_read(grants.get(reference))
    if held_generation == generation and held_expiry >= expiry:
        return
    request.session.cycle_key()
    grants.pop(reference, None)
    grants[reference] = [expiry, generation]
    request.session[TRACKED_SESSION_KEY] = dict(list(grants.items())[-MAX_GRANTS:])


def _grant_read(grant) -> tuple[int, int]:
    """(expiry, generation) of a stored grant; a bare expiry (from before generations) is generation 0."""
    if isinstance(grant, int):
        return grant, 0
    if isinstance(grant, list) and len(grant) == 2 and all(isinstance(n, int) for n in grant):
        return grant[0], grant[1]
    return 0, -1


def appellant_grant_held(request, appeal) -> bool:
    """Whether this browser holds a live grant for the appeal from a link of its current generation
    (the status page's own actions ask this beside the link itself)."""
    grants = request.session.get(TRACKED_SESSION_KEY)
    if not isinstance(grants, dict):
        return False  # none, or the pre-expiry format: open the link again
    expiry, generation = _grant_read(grants.get(appeal.reference))
    if generation != appeal.tracking_generation:
        return False  # signed out by "sign out other devices", or never granted
    return django_timezone.now() < datetime.fromtimestamp(expiry, tz=UTC)


def _appellant_granted(request, appeal) -> bool:
    """The appellant's files are served through a live grant until the appeal is withdrawn (the status
    page still opens then, without files; files deleted after retention are gone anyway)."""
    return appeal.state != AppealState.WITHDRAWN and appellant_grant_held(request, appeal)


def _second_factor_used(request) -> bool:
    """Staff open identity documents only in a session signed in with a second factor (django-otp; the
    middleware answers first, this holds should it ever be bypassed)."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified and is_verified())


def evidence_viewer(request, evidence) -> str | None:
    """ "staff", "appellant", or None (the caller answers 404) for this request and this file."""
    if evidence_visible_to_staff(user=request.user, appeal=evidence.appeal) and _second_factor_used(request):
        return "staff"
    if _appellant_granted(request, evidence.appeal):
        return "appellant"
    return None

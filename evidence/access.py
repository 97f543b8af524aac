"""Who may see an appeal's evidence files: the access decision behind `/evidence/<uuid>/`.

Identity documents are seen only by those who must see them (until need-to-know access with logged
reasons replaces this rule):
- on an open appeal: its assignee and the supervisors; while nobody holds it, any agent (triage);
- on a decided, withdrawn or closed appeal: the supervisors only;
- the appellant, through the browser session that opened a valid tracking link for that appeal
  (`appellant_grant`), until that link expires, the appellant signs out other devices (a newer link
  generation), or the appeal is withdrawn."""

from datetime import UTC, datetime

from django.utils import timezone as django_timezone

from tickets.models import AppealState
from tickets.roles import is_agent, is_supervisor

TRACKED_SESSION_KEY = "tracked_appeals"
MAX_GRANTS = 20


def evidence_visible_to_staff(*, user, appeal) -> bool:
    """Whether this console user may open the appeal's evidence files (and see their thumbnails)."""
    if is_supervisor(user):
        return True
    if not is_agent(user) or not appeal.is_open:
        return False
    return appeal.assignee_id is None or appeal.assignee_id == user.pk


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


def evidence_viewer(request, evidence) -> str | None:
    """ "staff", "appellant", or None (the caller answers 404) for this request and this file."""
    if evidence_visible_to_staff(user=request.user, appeal=evidence.appeal):
        return "staff"
    if _appellant_granted(request, evidence.appeal):
        return "appellant"
    return None

"""Who may see an appeal's evidence files: the access decision behind `/evidence/<uuid>/`.

Staff reach files through the console; the appellant through the browser session that opened a valid
tracking link for that appeal (`appellant_grant`)."""

from tickets.roles import is_agent

TRACKED_SESSION_KEY = "tracked_appeals"


def appellant_grant(request, reference: str) -> None:
    """Called by the status page once its signed link checked out: this browser may see the
    appeal's evidence for the rest of its session."""
    tracked = request.session.get(TRACKED_SESSION_KEY, [])
    if reference not in tracked:
        request.session[TRACKED_SESSION_KEY] = [*tracked, reference][-20:]


def evidence_viewer(request, evidence) -> str | None:
    """"staff", "appellant", or None (the caller answers 404) for this request and this file."""
    if is_agent(request.user):
        return "staff"
    if evidence.appeal.reference in request.session.get(TRACKED_SESSION_KEY, []):
        return "appellant"
    return None

"""`/desk/appeals/<reference>/presence/`: the appeal page's beat (tickets/services/presence.py). POST
`writing=1|0` answers who else has the appeal open, as JSON, with the sentence the page shows in the
viewer's language; `leave=1` says the page was left."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets.console.views import agent_required
from tickets.selectors import access_appeal
from tickets.services.presence import presence_beat, presence_leave


def _sentence(others: list[dict]) -> str:
    writing = [other["name"] for other in others if other["writing"]]
    viewing = [other["name"] for other in others if not other["writing"]]
    parts = []
    if writing:
        parts.append(_("Writing on this appeal now: %(names)s.") % {"names": ", ".join(writing)})
    if viewing:
        parts.append(_("Also looking at it: %(names)s.") % {"names": ", ".join(viewing)})
    return " ".join(parts)


@agent_required
@require_POST
def appeal_presence(request, reference: str):
    appeal = access_appeal(user=request.user, reference=reference, with_page=False)
    if request.POST.get("leave") == "1":
        presence_leave(appeal=appeal, user=request.user)
        return JsonResponse({"others": [], "message": ""})
    others = presence_beat(appeal=appeal, user=request.user, writing=request.POST.get("writing") == "1")
    return JsonResponse({"others": others, "message": _sentence(others)})

"""`/evidence/<uuid>/`: an evidence file, streamed after a permission check that is logged."""

from django.http import FileResponse, Http404

from tickets.models import AppealEvent
from tickets.roles import is_agent

from .models import Evidence, EvidenceAccess


def evidence_serve(request, evidence_id):
    # Staff only for now; anyone else gets the same 404 as for a file that does not exist.
    if not is_agent(request.user):
        raise Http404
    evidence = Evidence.objects.select_related("appeal").filter(pk=evidence_id).first()
    if evidence is None or not evidence.file:
        raise Http404
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    EvidenceAccess.objects.create(evidence=evidence, user=request.user, ip_address=request.META.get("REMOTE_ADDR"))
    AppealEvent.objects.create(
        appeal=evidence.appeal, kind=AppealEvent.Kind.EVIDENCE_VIEWED, actor=request.user, public=False,
        comment=f"{evidence.get_kind_display()}: {evidence.original_name}",
    )
    # Served as what the content sniffing found, never as what the browser claimed.
    response = FileResponse(handle, content_type=evidence.content_type, as_attachment=evidence.content_type == "text/csv",
                            filename=evidence.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response

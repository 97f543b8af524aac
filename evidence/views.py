"""`/evidence/<uuid>/` (and its thumbnail): a processed evidence file, streamed after an access check
that is logged. Allowed: agents and supervisors, and the appellant whose browser opened a valid
tracking link for that appeal. Everyone else gets the same 404 as for a file that does not exist."""

from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse

from supportdesk.client import client_ip
from tickets.models import AppealEvent

from .access import evidence_viewer
from .models import Evidence, EvidenceAccess


def _serve(request, evidence_id, *, thumbnail: bool):
    evidence = Evidence.objects.select_related("appeal").filter(pk=evidence_id).first()
    if evidence is None:
        raise Http404
    viewer = evidence_viewer(request, evidence)
    if viewer is None:
        raise Http404
    staff = viewer == "staff"
    stored = evidence.thumbnail if thumbnail else evidence.file
    if evidence.status != Evidence.Status.READY or not stored:
        raise Http404  # still being processed, refused, or deleted under the retention policy
    EvidenceAccess.objects.create(
        evidence=evidence, user=request.user if staff else None, by_appellant=not staff,
        ip_address=client_ip(request), thumbnail=thumbnail,
    )
    if not thumbnail:
        AppealEvent.objects.create(
            appeal=evidence.appeal, kind=AppealEvent.Kind.EVIDENCE_VIEWED, public=False,
            actor=request.user if staff else None, actor_label="" if staff else "appellant",
            comment=f"{evidence.get_kind_display()}: {evidence.original_name}",
        )
    content_type = "image/jpeg" if thumbnail else evidence.content_type
    inline = content_type.startswith("image/")
    if settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + stored.name
    else:
        try:
            handle = stored.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=content_type)
    # Served as what the content sniffing found, never as what the browser claimed; PDFs and CSVs
    # are downloaded, not rendered in the page.
    response["Content-Disposition"] = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{_quote(evidence.original_name)}"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _quote(name: str) -> str:
    return quote(name or "evidence", safe="")


def evidence_serve(request, evidence_id):
    return _serve(request, evidence_id, thumbnail=False)


def evidence_thumbnail(request, evidence_id):
    return _serve(request, evidence_id, thumbnail=True)

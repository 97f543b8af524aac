"""`/evidence/<uuid>/` (its thumbnail, and `?page=N` for a PDF's rendered pages): a processed evidence
file, streamed after an access check that is logged. Who is allowed is decided in `evidence/access.py`
(need-to-know: on an open appeal its assignee, proposer, approvers and the supervisors, anyone else on
the staff after stating a reason; on a decided or closed appeal the supervisors, after stating a reason;
the appellant whose browser opened a valid tracking link, until it expires). Everyone else gets the
same 404 as for a file that does not exist.

Only what processing made is served, never the uploaded bytes: an image re-encoded without metadata, a
PDF as its pages rendered to images and a PDF rebuilt from them, a CSV with its formulas made inert.
Staff see every image (and a PDF's pages) marked with their name and the time (`evidence/watermark.py`)."""

import io
import re
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse

from supportdesk.client import client_ip

from .access import evidence_viewer
from .models import Evidence
from .services import evidence_access_record
from .storage import evidence_storage
from .watermark import evidence_for_staff, watermark_text


def _serve(request, evidence_id, *, thumbnail: bool = False, page: int | None = None):
    evidence = Evidence.objects.select_related("appeal").filter(pk=evidence_id).first()
    if evidence is None:
        raise Http404
    viewer = evidence_viewer(request, evidence)
    if viewer is None:
        raise Http404
    staff = viewer == "staff"
    if page is not None:
        if not 1 <= page <= len(evidence.pages):
            raise Http404
        name = evidence.pages[page - 1]
    else:
        name = (evidence.thumbnail if thumbnail else evidence.file).name
    if not name or not evidence.processed_copy_ready:
        raise Http404  # still being processed, refused, or deleted under the retention policy
    evidence_access_record(
        evidence=evidence,
        user=request.user if staff else None,
        by_appellant=not staff,
        ip=client_ip(request),
        thumbnail=thumbnail,
        page=page,
    )
    content_type = "image/jpeg" if thumbnail or page is not None else evidence.content_type
    inline = content_type.startswith("image/")
    response = _file_response(request, evidence, name, content_type, staff=staff, thumbnail=thumbnail, page=page)
    # Served as what the content sniffing found, never as what the browser claimed; PDFs and CSVs
    # are downloaded, not rendered in the page.
    filename = evidence.original_name
    if page is not None:
        filename = f"{filename.rsplit('.', 1)[0]}-{page}.jpg"
    response["Content-Disposition"] = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{_quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # style-src: a browser shows an image opened on its own in a page it styles inline (nothing from the
    # file can be style or script there: it is an image, nosniff, sandboxed).
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _file_response(request, evidence: Evidence, name: str, content_type: str, *, staff: bool, thumbnail: bool, page: int | None):
    """Staff get bytes made for them, marked with who they are and when (`evidence/watermark.py`),
    never a file the proxy sends; the appellant gets the stored file, which nginx may send."""
    try:
        if staff:
            text = watermark_text(user=request.user, appeal=evidence.appeal)
            marked = evidence_for_staff(evidence=evidence, name=name, text=text, thumbnail=thumbnail, page=page)
            if marked is not None:
                return FileResponse(io.BytesIO(marked), content_type=content_type)
        elif settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX:
            response = HttpResponse(content_type=content_type)
            response["X-Accel-Redirect"] = settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX.rstrip("/") + "/" + name
            return response
        return FileResponse(evidence_storage.open(name, "rb"), content_type=content_type)
    except FileNotFoundError:
        raise Http404 from None


def _quote(name: str) -> str:
    return quote(name or "evidence", safe="")


def evidence_serve(request, evidence_id):
    """The file; `?page=N` (a PDF): its page N rendered to an image, what the console's viewer shows."""
    page = request.GET.get("page")
    if page is None:
        return _serve(request, evidence_id)
    if not re.fullmatch(r"[0-9]{1,4}", page):
        raise Http404
    return _serve(request, evidence_id, page=int(page))


def evidence_thumbnail(request, evidence_id):
    return _serve(request, evidence_id, thumbnail=True)

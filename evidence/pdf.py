"""PDFs read with PDFium (pypdfium2): checked in the request, rendered to images by the processing task.

PDFium is the engine Chrome uses; the pypdfium2 wheel is built without a JavaScript engine, and we
never initialise its form environment, so nothing in a document runs while we read or render it. The
library is not thread-safe: a document is opened, read and closed while holding one lock per process.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pypdfium2 as pdfium
from django.conf import settings
from django.utils.translation import gettext as _

# Points per inch in PDF user space.
PDF_POINTS_PER_INCH = 72
# The highest resolution a page is rendered at, whatever its size (a small page is not blown up).
RENDER_MAX_DPI = 200

_pdfium_lock = threading.RLock()


class PdfUnreadable(Exception):
    """The PDF cannot be opened or rendered; `message` says why, in the user's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _damaged() -> PdfUnreadable:
    return PdfUnreadable(_("This PDF is damaged and cannot be read. Please export it again."))


@contextmanager
def pdf_open(source) -> Iterator[pdfium.PdfDocument]:
    """Open a PDF (bytes or a path) and check it can be read, has pages and not too many.
    Raises PdfUnreadable with the reason the user sees."""
    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(source)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise PdfUnreadable(_("This PDF is password-protected. Please upload it without a password.")) from None
            raise _damaged() from None
        try:
            pages = len(document)
            if not pages:
                raise PdfUnreadable(_("This PDF has no pages."))
            if pages > settings.EVIDENCE_MAX_PDF_PAGES:
                raise PdfUnreadable(
                    _("This PDF has %(pages)d pages: the limit is %(limit)d. Please send only the pages we need.")
                    % {"pages": pages, "limit": settings.EVIDENCE_MAX_PDF_PAGES}
                )
            for index in range(pages):
                _page_size(document, index)  # every page must load and have a real size
            yield document
        finally:
            document.close()


def _page_size(document, index: int) -> tuple[float, float]:
    try:
        page = document[index]
    except pdfium.PdfiumError:
        raise _damaged() from None
    try:
        width, height = page.get_size()
    finally:
        page.close()
    if not (width > 0 and height > 0):
        raise _damaged()
    return width, height


def pdf_first_page_size(source) -> tuple[float, float]:
    """The first page's width and height in points (1/72 inch)."""
    with pdf_open(source) as document:
        return _page_size(document, 0)


def pdf_check(data: bytes) -> int:
    """The number of pages of a readable PDF within the page limit; PdfUnreadable otherwise."""
    with pdf_open(data) as document:
        return len(document)


def pdf_render_pages(source) -> Iterator:
    """Each page of the PDF as a fresh RGB Pillow image: the longest side at most
    EVIDENCE_PDF_PAGE_MAX_SIDE pixels and at most RENDER_MAX_DPI. Annotations are drawn as they look;
    nothing in the document runs."""
    max_side = settings.EVIDENCE_PDF_PAGE_MAX_SIDE
    with pdf_open(source) as document:
        for index in range(len(document)):
            page = document[index]
            try:
                width, height = page.get_size()
                scale = min(max_side / max(width, height), RENDER_MAX_DPI / PDF_POINTS_PER_INCH)
                bitmap = page.render(scale=scale, may_draw_forms=False)
                image = bitmap.to_pil().convert("RGB")
                bitmap.close()
            except pdfium.PdfiumError:
                raise _damaged() from None
            finally:
                page.close()
            yield image, scale * PDF_POINTS_PER_INCH


def pdf_from_images(out, images: list, resolution: float) -> None:
    """Write a PDF whose pages are `images` (Pillow images, opened lazily so that each is decoded only
    as it is written) and nothing else: no metadata, no outline, nothing that runs."""
    images[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=images[1:],
        resolution=resolution,
        title="",
        author="",
        subject="",
        keywords="",
        creator="",
        producer="",
    )

"""Accept evidence by content, not by name (SPEC §6).

`evidence_sniff` reads an uploaded file, decides what it really is from its bytes, enforces the per-file
limits and returns what the rest of the system needs to know about it. Every refusal is a
`ValidationError` with a message in the user's language.
"""

import hashlib
import re
import warnings
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from .models import CSV_TYPE, PDF_TYPE  # re-exported: the kinds processing rebuilds
from .pdf import PdfUnreadable, pdf_check

IMAGE_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # Chinese spreadsheet exports are often GBK/GB18030.

# What the upload inputs offer in the file picker: the types `evidence_sniff` and `csv_sniff` accept,
# with the names such files usually have. The forms put them in the inputs' `accept` attribute and the
# page's script checks chosen files against that attribute: this is the one list. (The server still
# decides by content, not by name or declared type.)
EVIDENCE_ACCEPTED = {"image/jpeg": (".jpg", ".jpeg"), "image/png": (".png",), "image/webp": (".webp",), PDF_TYPE: (".pdf",)}
# A CSV saved as "text" (.txt, text/plain) is read the same way.
CSV_ACCEPTED = {CSV_TYPE: (".csv",), "text/plain": ()}


def accept_attribute(accepted: dict[str, tuple[str, ...]]) -> str:
    """An `accept` attribute: the content types, then the file-name extensions."""
    return ",".join([*accepted, *(extension for extensions in accepted.values() for extension in extensions)])


EVIDENCE_ACCEPT = accept_attribute(EVIDENCE_ACCEPTED)
CSV_ACCEPT = accept_attribute(CSV_ACCEPTED)

# Markup or an archive inside an image or PDF: a polyglot that a browser or unzip could treat as
# something else. (Trailing camera data such as a motion-photo video is allowed: re-encoding drops it.)
POLYGLOT_MARKUP = re.compile(rb"<(?:script|html|svg|iframe|body|object|embed)|<\?php", re.I)
# A ZIP has local headers and, near its end, an end-of-central-directory record: both must be there
# (four random bytes alone turn up in one large photo out of a few hundred).
ZIP_LOCAL, ZIP_END, ZIP_END_WINDOW = b"PK\x03\x04", b"PK\x05\x06", 66 * 1024
# PDF features that run or carry code, refused on sight. Only a first filter (a #-escaped name slips
# by): a PDF is harmless because it is served only as images of its pages (evidence/processing.py).
PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA)(?![A-Za-z0-9])")

# Pillow refuses images over twice this many pixels outright; we also turn its warning into an error.
Image.MAX_IMAGE_PIXELS = settings.EVIDENCE_MAX_PIXELS


@dataclass(frozen=True)
class SniffedFile:
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None


def _head(uploaded, length: int = 8192) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(length)
    uploaded.seek(0)
    return head


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        _("This file is too large: the limit is %(limit)s.") % {"limit": filesizeformat(limit)},
        code="file_too_large",
    )


def _check_image(uploaded, content_type: str, data: bytes, spans: list[tuple[int, int]]) -> tuple[int, int]:
    max_pixels = settings.EVIDENCE_MAX_PIXELS
    too_many_pixels = ValidationError(
        _("This image has too many pixels: the limit is %(mp)d megapixels.") % {"mp": max_pixels // 1_000_000},
        code="image_too_many_pixels",
    )
    unreadable = ValidationError(
        _("This image is damaged or incomplete and cannot be read. Please take the photo again."),
        code="image_unreadable",
    )
    uploaded.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(uploaded) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise too_many_pixels
                if image.format != IMAGE_TYPES[content_type]:
                    raise unreadable
                image.verify()
            # verify() misses a truncated file; its container's end shows it, without decoding
            # every pixel here (the processing task decodes it fully, after upload).
            if not _ends_complete(data, content_type):
                raise unreadable
            if content_type == "image/jpeg" and len(spans) > settings.EVIDENCE_MAX_JPEG_SCANS:
                raise ValidationError(
                    _(
                        "This JPEG is built to be slow to open (%(scans)d progressive scans; photos have a "
                        "dozen or fewer). Please send the original photo or a screenshot of it."
                    )
                    % {"scans": len(spans)},
                    code="image_too_many_scans",
                )
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise unreadable from None
    finally:
        uploaded.seek(0)
    return width, height


def _sha256(uploaded, data: bytes) -> str:
    """The digest the upload handler computed while the file streamed in (evidence/uploads.py), or,
    for a file that did not come through it (a script, a test), one computed now."""
    streamed = getattr(uploaded, "sha256", None)
    return streamed if streamed and uploaded.size == len(data) else hashlib.sha256(data).hexdigest()


def _whole(uploaded) -> bytes:
    uploaded.seek(0)
    data = uploaded.read()
    uploaded.seek(0)
    return data


def _ends_complete(data: bytes, content_type: str) -> bool:
    """JPEG: an end-of-image marker (phones may append data after it, e.g. a motion photo's video).
    PNG: the IEND chunk. WebP: the RIFF size covers the file. A damaged file that still passes is
    refused by the processing task, which decodes every pixel."""
    if content_type == "image/jpeg":
        return data.rfind(b"\xff\xd9") != -1  # searched from the end, where it normally is
    if content_type == "image/png":
        return b"IEND\xaeB`\x82" in data
    if content_type == "image/webp":
        return len(data) >= 8 and int.from_bytes(data[4:8], "little") + 8 <= len(data)
    return True


def _check_polyglot(uploaded, data: bytes, content_type: str, spans: list[tuple[int, int]] | None = None) -> None:
    data = _outside_pixel_data(data, content_type, spans)
    hidden_zip = ZIP_END in data[-ZIP_END_WINDOW:] and ZIP_LOCAL in data
    if hidden_zip or POLYGLOT_MARKUP.search(data):
        raise ValidationError(
            _(
                "“%(name)s” contains web page code or an archive hidden inside it, so we cannot accept it. "
                "Please upload the original photo or scan."
            )
            % {"name": uploaded.name},
            code="file_polyglot",
        )


def evidence_sniff(uploaded) -> SniffedFile:
    """An image (JPEG, PNG, WebP) or a PDF, whatever the file is called."""
    if not uploaded.size:
        raise ValidationError(_("This file is empty."), code="file_empty")
    head = _head(uploaded)
    kind = filetype.guess(head)
    content_type = kind.mime if kind else ""
    if content_type in IMAGE_TYPES:
        if uploaded.size > settings.EVIDENCE_MAX_IMAGE_BYTES:
            raise _too_large(settings.EVIDENCE_MAX_IMAGE_BYTES)
        data = _whole(uploaded)
        spans = _pixel_spans(data, content_type)  # walked once: the scan count and the polyglot check share it
        width, height = _check_image(uploaded, content_type, data, spans)
        _check_polyglot(uploaded, data, content_type, spans)
        return SniffedFile(content_type, len(data), _sha256(uploaded, data), width, height)
    if content_type == PDF_TYPE and head.startswith(b"%PDF-"):
        if uploaded.size > settings.EVIDENCE_MAX_PDF_BYTES:
            raise _too_large(settings.EVIDENCE_MAX_PDF_BYTES)
        data = _whole(uploaded)
        _check_polyglot(uploaded, data, content_type)
        if PDF_ACTIVE.search(data):
            raise ValidationError(pdf_active_message(), code="pdf_active")
        # Parsing is cheap: a PDF that PDFium cannot open is refused here, next to its field, not
        # minutes later by the worker. (Its pages are rendered after upload.)
        try:
            pdf_check(data)
        except PdfUnreadable as unreadable:
            raise ValidationError(unreadable.message, code="pdf_unreadable") from None
        return SniffedFile(content_type, len(data), _sha256(uploaded, data))
    raise ValidationError(
        _(
            "“%(name)s” is not a JPEG, PNG or WebP image or a PDF. We check what a file contains, "
            "not its name: please upload a photo, a screenshot or a PDF."
        )
        % {"name": uploaded.name},
        code="file_type",
    )


def evidence_limits_check(*, count: int, total_bytes: int) -> None:
    """The per-appeal limits on the files kept together (count, then total size); a ValidationError for
    the first one exceeded."""
    if count > settings.EVIDENCE_MAX_FILES:
        raise ValidationError(
            _("Too many files: at most %(max)d per appeal (you chose %(count)d).")
            % {"max": settings.EVIDENCE_MAX_FILES, "count": count},
            code="too_many_files",
        )
    if total_bytes > settings.EVIDENCE_MAX_TOTAL_BYTES:
        raise ValidationError(
            _("The files are too large together: at most %(max)s per appeal.")
            % {"max": filesizeformat(settings.EVIDENCE_MAX_TOTAL_BYTES)},
            code="too_much_data",
        )


def csv_sniff(uploaded) -> tuple[SniffedFile, str]:
    """A CSV of records: plain text in UTF-8 or GB18030, at most 2 MB. Returns it decoded."""
    if not uploaded.size:
        raise ValidationError(_("This file is empty."), code="file_empty")
    if uploaded.size > settings.EVIDENCE_MAX_CSV_BYTES:
        raise _too_large(settings.EVIDENCE_MAX_CSV_BYTES)
    uploaded.seek(0)
    raw = uploaded.read()
    uploaded.seek(0)
    not_csv = ValidationError(
        _("“%(name)s” is not a CSV text file. Export the table as CSV (comma-separated) and try again.")
        % {"name": uploaded.name},
        code="file_type",
    )
    # Excel's "Unicode text" is UTF-16 (full of NUL bytes): a text file, but in an encoding we do not read.
    utf16 = raw.startswith((b"\xff\xfe", b"\xfe\xff"))
    if not utf16 and (b"\x00" in raw or filetype.guess(raw[:8192]) is not None):
        raise not_csv
    text = None if utf16 else csv_decode(raw)
    if text is None:
        raise ValidationError(
            _(
                "“%(name)s” is not saved as UTF-8 or GB18030 text, so we cannot read it. Save it again: in Excel, "
                "choose Save As and the type “CSV UTF-8 (Comma delimited)”; in WPS, choose 另存为 and “CSV UTF-8”. "
                "Then upload the new file."
            )
            % {"name": uploaded.name},
            code="file_encoding",
        )
    return SniffedFile(CSV_TYPE, len(raw), _sha256(uploaded, raw)), text


def csv_decode(raw: bytes) -> str | None:
    """The CSV's text in the first encoding that reads it (UTF-8, then GB18030), or None."""
    for encoding in CSV_ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def pdf_active_message() -> str:
    return _(
        "This PDF contains scripts, actions or attached files, which we cannot accept. "
        "Print it to a new PDF (or take a photo of the document) and upload that."
    )


# JPEG markers that stand alone (no length field): TEM, RST0-7, SOI, EOI.
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xDA)}
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_JPEG_FILL = re.compile(rb"\xff+")
# The next real marker in entropy-coded data: a 0xFF not followed by a stuffed 0x00 or a restart marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]", re.S)


def jpeg_scan_count(data: bytes) -> int:
    """How many scans (SOS markers) the image has (see `_jpeg_walk`)."""
    return len(_jpeg_walk(data))


def _jpeg_walk(data: bytes) -> list[tuple[int, int]]:
    """The (start, end) of each scan's entropy-coded data, walking the segments from SOI to EOI (bytes
    after EOI, such as a motion photo's video, are not the image). Entropy-coded data stuffs every 0xFF
    with 0x00, so the next marker is the next 0xFF not followed by 0x00 or a restart marker."""
    spans: list[tuple[int, int]] = []
    position, end = 2, len(data)
    while position + 4 <= end:
        if data[position] != 0xFF:
            return spans  # not a marker where one must be: Pillow judges the damage
        marker = data[position + 1]
        if marker == 0xFF:  # fill bytes before a marker: skip the whole run at once
            position = _JPEG_FILL.match(data, position).end() - 1
            continue
        if marker == _JPEG_EOI:
            return spans
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
        if marker != _JPEG_SOS:
            continue
        start = position
        # Skip the entropy-coded data to the next real marker, in one search (a photo's scan holds
        # thousands of stuffed 0xFF bytes: a Python loop over them cost a millisecond per megabyte).
        found = _JPEG_NEXT_MARKER.search(data, position)
        if found is None:
            spans.append((start, end))
            return spans
        position = found.start()
        spans.append((start, position))
    return spans


def _chunked_pixel_spans(
    data: bytes, *, first: int, size_order: str, pixel_chunks: set[bytes], header_before_type: bool
) -> list[tuple[int, int]]:
    """The (start, end) of the pixel-data chunks of a PNG (length, type, data, CRC) or a WebP (type,
    little-endian length, data padded to even)."""
    spans: list[tuple[int, int]] = []
    position, end = first, len(data)
    while position + 8 <= end:
        if header_before_type:
            length, kind, body = (
                int.from_bytes(data[position : position + 4], size_order),
                data[position + 4 : position + 8],
                position + 8,
            )
            following = body + length + 4
        else:
            kind, length, body = (
                data[position : position + 4],
                int.from_bytes(data[position + 4 : position + 8], size_order),
                position + 8,
            )
            following = body + length + (length & 1)
        if kind in pixel_chunks:
            spans.append((body, min(body + length, end)))
        if following <= position:
            break
        position = following
    return spans


def _pixel_spans(data: bytes, content_type: str) -> list[tuple[int, int]] | None:
    """Where an image's compressed pixel data lies (see `_outside_pixel_data`); None for a PDF."""
    if content_type == "image/jpeg":
        return _jpeg_walk(data)
    if content_type == "image/png":
        return _chunked_pixel_spans(data, first=8, size_order="big", pixel_chunks={b"IDAT", b"fdAT"}, header_before_type=True)
    if content_type == "image/webp":
        return _chunked_pixel_spans(
            data, first=12, size_order="little", pixel_chunks={b"VP8 ", b"VP8L", b"ALPH", b"ANMF"}, header_before_type=False
        )
    return None


def _outside_pixel_data(data: bytes, content_type: str, spans: list[tuple[int, int]] | None = None) -> bytes:
    """An image's bytes without its compressed pixel data: headers, metadata, and anything appended.
    Compressed pixels are noise in which any short byte string turns up by chance (one large photo in a
    few hundred holds "<svg" or "<body" somewhere), and they are never served: re-encoding copies
    only the decoded pixels. Markup or an archive anywhere else is a polyglot."""
    if spans is None:
        spans = _pixel_spans(data, content_type)
    if spans is None:
        return data
    kept, position = [], 0
    for start, stop in spans:
        kept.append(data[position:start])
        position = stop
    kept.append(data[position:])
    return b"\x00".join(kept)

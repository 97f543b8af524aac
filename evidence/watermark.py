"""Viewer watermarks: every identity image shown to staff names who is looking and when, so that a
leaked screenshot names its source (issue 17). The appellant's own views are not marked: it is their
document.

The mark is a semi-transparent diagonal text, tiled over the whole image — "<username> · <YYYY-MM-DD
HH:MM> Beijing time · <appeal reference>" — dark with a light outline, so it reads on light and dark
paper alike and the document stays legible under it. It is drawn per request on what processing made
(the re-encoded image, its thumbnail, a PDF's rendered pages), never on the upload, and never stored:
nothing per viewer is written to disk or to a cache, where it would outlive the retention policy.

- An image file is re-encoded in its own format, at most STAFF_VIEW_MAX_SIDE pixels on its longer side.
  A JPEG is decoded already reduced (a 40-megapixel photo: under 100 MB at the peak, not 250); a PNG or
  WebP has no reduced decoding, so a large one is decoded whole, one at a time per process
  (bench/bench_watermark.py measures both).
- A PDF download is rebuilt, as processing builds `.clean.pdf`, from its page images, each marked.
- A CSV is text: it is served unmarked (there is no image to mark; its download is still logged).

The text is ASCII: the font is the one Pillow carries (Aileron, Latin only), so the mark renders in the
slim container, which has no fonts installed, and none is fetched at run time. A username the font
cannot draw is replaced by the account's number."""

import contextlib
import functools
import io
import math
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from .models import Evidence
from .pdf import PDF_POINTS_PER_INCH, pdf_first_page_size, pdf_from_images
from .storage import evidence_storage
from .validation import CSV_TYPE, IMAGE_TYPES, PDF_TYPE

BEIJING = ZoneInfo("Asia/Shanghai")
# The longest side of an image file as staff see it: an ID card stays legible at this size, and the
# work per request stays bounded whatever the upload's size (EVIDENCE_MAX_PIXELS allows 40 megapixels).
STAFF_VIEW_MAX_SIDE = 3000
# JPEG/WebP quality as processing encoded each derivative: the file, a PDF page, a thumbnail.
FILE_QUALITY, PAGE_QUALITY, THUMBNAIL_QUALITY = 90, 85, 80
# A large PNG or WebP is decoded whole before it is reduced: one such decode per process at a time.
_whole_decode = threading.Lock()
ANGLE = 30  # degrees, counter-clockwise
FILL, OUTLINE = (20, 20, 20, 80), (255, 255, 255, 80)  # RGBA: about a third opaque


def watermark_text(*, user, appeal, at: datetime | None = None) -> str:
    """ "<username> · <YYYY-MM-DD HH:MM> Beijing time · <appeal reference>"."""
    name = user.get_username()
    if not (name.isascii() and name.isprintable()):
        name = f"user {user.pk}"
    when = timezone.localtime(at or timezone.now(), BEIJING)
    return f"{name} · {when:%Y-%m-%d %H:%M} Beijing time · {appeal.reference}"


def _font_size(size: tuple[int, int]) -> int:
    """About a thirtieth of the image's geometric mean side: readable on a 480-pixel thumbnail, not
    a banner on a full page."""
    return max(11, min(72, round(math.sqrt(size[0] * size[1]) / 30)))


@functools.lru_cache(maxsize=8)
def _tile(text: str, font_size: int) -> tuple[Image.Image, int, int]:
    """The text once, turned ANGLE degrees, on a transparent RGBA tile, and the text's length and
    height before turning. Cached for the next request of the same viewer and minute (a console page
    loads its thumbnails together); a few only: the largest tile takes about 9 MB."""
    font = ImageFont.load_default(font_size)
    stroke = max(1, font_size // 12)
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    flat = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(flat).text((-left, -top), text, font=font, fill=FILL, stroke_width=stroke, stroke_fill=OUTLINE)
    return flat.rotate(ANGLE, resample=Image.Resampling.BICUBIC, expand=True), flat.width, flat.height


def watermark_apply(image: Image.Image, text: str) -> Image.Image:
    """Draw the mark over `image` in place (RGB, L, RGBA or LA) and return it: parallel lines of the
    text, each line's copies a gap apart, every other line shifted by half a copy. The tile is pasted
    through its own transparency, so no full-size overlay is allocated."""
    tile, length, height = _tile(text, _font_size(image.size))
    along = length + 3 * height  # from one copy to the next on a line
    across = 4 * height  # from one line to the next
    angle = math.radians(ANGLE)
    u = (math.cos(angle), -math.sin(angle))  # the text's direction (y points down)
    v = (math.sin(angle), math.cos(angle))  # from a line to the next
    corners = [(0, 0), (image.width, 0), (0, image.height), (image.width, image.height)]
    u_span = [x * u[0] + y * u[1] for x, y in corners]
    v_span = [x * v[0] + y * v[1] for x, y in corners]
    for line in range(math.floor(min(v_span) / across) - 1, math.ceil(max(v_span) / across) + 1):
        shift = (line % 2) * along / 2
        for copy in range(math.floor(min(u_span) / along) - 1, math.ceil(max(u_span) / along) + 1):
            a, b = copy * along + shift, line * across
            centre_x, centre_y = a * u[0] + b * v[0], a * u[1] + b * v[1]
            box = (round(centre_x - tile.width / 2), round(centre_y - tile.height / 2))
            if box[0] < image.width and box[1] < image.height and box[0] + tile.width > 0 and box[1] + tile.height > 0:
                image.paste(tile, box, tile)
    return image


def _open_reduced(name: str, max_side: int | None) -> Image.Image:
    """Decode a stored derivative, no larger than `max_side` on its longer side. A JPEG is asked to
    decode already reduced (by 1/2, 1/4 or 1/8: the decoder skips the work), the rest resized after:
    a PNG or WebP is decoded whole (40 megapixels take 160 MB), so one process decodes one at a time."""
    with evidence_storage.open(name, "rb") as handle:
        image = Image.open(handle)
        if not max_side or max(image.size) <= max_side:
            image.load()
            return image
        scale = max_side / max(image.size)
        target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image.draft(image.mode, target)  # JPEG only; a no-op for the other formats
        whole = max(image.size) > 2 * max_side
        with _whole_decode if whole else contextlib.nullcontext():
            image.load()
            if image.size != target:
                image = image.resize(target, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return image


def _encoded(image: Image.Image, fmt: str, quality: int) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # processing writes none, but a JPEG has no transparency to keep
    image.info = {}  # nothing of the source's (an ICC profile, a DPI) is carried by default
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    return buffer.getvalue()


def watermarked_image(name: str, *, text: str, fmt: str = "JPEG", quality: int = FILE_QUALITY, max_side=None) -> bytes:
    """A stored image derivative with the mark, encoded as `fmt`."""
    return _encoded(watermark_apply(_open_reduced(name, max_side), text), fmt, quality)


def watermarked_pdf(evidence: Evidence, *, text: str) -> bytes:
    """The PDF rebuilt from its page images, each marked: what `.clean.pdf` is, for one viewer, at the
    same page size (the resolution processing gave it is read back from `.clean.pdf`'s first page). The
    marked pages are held encoded (nearly lossless) until the PDF writer decodes them, one at a time."""
    marked = [Image.open(io.BytesIO(watermarked_image(name, text=text, quality=95))) for name in evidence.pages]
    width_points, _height = pdf_first_page_size(evidence_storage.path(evidence.file.name))
    buffer = io.BytesIO()
    pdf_from_images(buffer, marked, resolution=marked[0].width * PDF_POINTS_PER_INCH / width_points)
    return buffer.getvalue()


def evidence_for_staff(*, evidence: Evidence, name: str, text: str, thumbnail: bool, page: int | None) -> bytes | None:
    """The bytes a staff member is served for `name` (the file, its thumbnail or page `page`), marked
    with `text`; None for a CSV, which is served as it is stored. FileNotFoundError if a file is gone."""
    if thumbnail:
        return watermarked_image(name, text=text, quality=THUMBNAIL_QUALITY)
    if page is not None:
        return watermarked_image(name, text=text, quality=PAGE_QUALITY)
    if evidence.content_type == PDF_TYPE:
        return watermarked_pdf(evidence, text=text)
    if evidence.content_type == CSV_TYPE:
        return None
    return watermarked_image(name, text=text, fmt=IMAGE_TYPES[evidence.content_type], max_side=STAFF_VIEW_MAX_SIDE)

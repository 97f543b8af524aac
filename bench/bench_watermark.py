"""Viewer watermarks (`evidence/watermark.py`): the cost of one staff request for an image, made per
viewer on every request, and the memory a 40-megapixel upload takes to mark.

CPU per request (`time.process_time`, which other processes' load on the machine does not change) for
a ~1 MB 3000×2000 photo as processing left it: the file (decode, mark, encode), its thumbnail, a PDF
page, a 10-page PDF download, and the whole request through the view (access check and log included).
Peak memory (the rise of the process's resident set, its high-water mark reset first) for 40-megapixel
JPEG and PNG files: a JPEG is decoded reduced; Pillow cannot do that for a PNG, which is decoded whole
(4 bytes a pixel: 160 MB) — one at a time per process, so no target is set for it."""

import io
import time

from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from bench.bench_processing import ONE_MB, photo_like
from evidence import watermark
from evidence.models import Evidence
from evidence.pdf import pdf_from_images
from evidence.processing import evidence_process
from evidence.storage import evidence_storage
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed

ROUNDS = 20
TEXT = "agent_lin · 2026-03-01 10:05 Beijing time · AP-7Q43-JFGF"
FORTY_MEGAPIXELS = (7300, 5475)
PDF_PAGES, PAGE_DPI = 10, 171


def cpu_ms(work, rounds: int = ROUNDS) -> float:
    work()  # the font and the tile, once per process and minute
    start = time.process_time()
    for _ in range(rounds):
        work()
    return (time.process_time() - start) / rounds * 1000


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def peak_rise_mb(work) -> float:
    """How far the resident set rises above where it was while `work` runs (Linux: writing 5 to
    clear_refs resets the high-water mark to the current resident set)."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = _status_kb("VmRSS")
    work()
    return (_status_kb("VmHWM") - before) / 1024


def stored(name: str, image: Image.Image, fmt: str, **options) -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return evidence_storage.save(name, ContentFile(buffer.getvalue()))


def test_watermark_cost_per_request(record, settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path
    appeal_types_seed(AppealType)
    content = photo_like(1, *ONE_MB)
    photo = EvidenceFactory(appeal=AppealFactory(), status="pending", content=content)
    photo = evidence_process(evidence_id=photo.pk)
    note = f"3000×2000 JPEG, {len(content) / 1e6:.1f} MB, marked at quality {watermark.FILE_QUALITY}"

    def file():
        watermark.watermarked_image(photo.file.name, text=TEXT, max_side=watermark.STAFF_VIEW_MAX_SIDE)

    record("watermark, ~1 MB photo: CPU per request (mark only)", cpu_ms(file), "ms", target=250, note=note)
    thumbnail = cpu_ms(lambda: watermark.watermarked_image(photo.thumbnail.name, text=TEXT, quality=80))
    record("watermark, its thumbnail: CPU per request", thumbnail, "ms", target=30, note="480×320 JPEG")
    page = stored("page.jpg", Image.new("RGB", (1414, 2000), "white"), "JPEG", quality=85)
    page_cost = cpu_ms(lambda: watermark.watermarked_image(page, text=TEXT, quality=85))
    record("watermark, a rendered PDF page: CPU per request", page_cost, "ms", target=150, note="1414×2000 JPEG")

    clean = io.BytesIO()
    pdf_from_images(clean, [Image.open(evidence_storage.path(page))], resolution=PAGE_DPI)
    document = Evidence(pages=[page] * PDF_PAGES, file=evidence_storage.save("clean.pdf", ContentFile(clean.getvalue())))
    pdf_cost = cpu_ms(lambda: watermark.watermarked_pdf(document, text=TEXT), rounds=3)
    note = f"{PDF_PAGES} pages of 1414×2000, rebuilt from marked pages"
    record("watermark, a PDF download: CPU per request", pdf_cost, "ms", target=2000, note=note)

    client = Client()
    client.force_login(AgentFactory())
    url = reverse("evidence:serve", args=[photo.pk])
    whole = cpu_ms(lambda: b"".join(client.get(url).streaming_content))
    record("watermark, ~1 MB photo: CPU per whole request", whole, "ms", target=300, note=note + ", view, access log")

    big = Image.effect_noise(FORTY_MEGAPIXELS, 40).convert("RGB")
    jpeg = stored("big.jpg", big, "JPEG", quality=90)
    big = Image.linear_gradient("L").resize(FORTY_MEGAPIXELS).convert("RGB")  # a screenshot-like PNG: small file
    png = stored("big.png", big, "PNG")
    del big
    for label, name, fmt in (("JPEG", jpeg, "JPEG"), ("PNG", png, "PNG")):

        def mark(name=name, fmt=fmt):
            watermark.watermarked_image(name, text=TEXT, fmt=fmt, max_side=watermark.STAFF_VIEW_MAX_SIDE)

        start = time.process_time()
        rise = peak_rise_mb(mark)
        seconds = time.process_time() - start
        note = f"7300×5475 {label}, served at {watermark.STAFF_VIEW_MAX_SIDE} px; CPU {seconds * 1000:.0f} ms"
        target = 200 if fmt == "JPEG" else None
        record(f"watermark, 40 MP {label}: peak memory rise", rise, "MB", target=target, note=note)

"""Evidence processing in one worker process (decode, upright, re-encode without metadata, thumbnail,
perceptual hash), for 3000×2000 photos: CPU seconds per photo (`time.process_time`, which the other
helpers' load on the machine does not change) beside images per second.

The photos are photo-like: a gradient with shapes and some noise, saved as a phone would, at ~1 MB and
~3 MB. Pure noise (the last row) is the worst case for JPEG, not what people photograph."""

import io
import os
import random
import time

import imagehash
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from evidence.processing import evidence_process
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory
from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed

IMAGES = 20
SIZE = (3000, 2000)
# (noise blended in, JPEG quality): about 1 MB and about 3 MB at 3000×2000.
ONE_MB, THREE_MB = (0.07, 86), (0.22, 93)


def photo_like(seed: int, noise: float, quality: int, size: tuple[int, int] = SIZE) -> bytes:
    """A gradient with forty coloured shapes and Gaussian noise: it compresses like a photo."""
    rnd = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rnd.randrange(width), rnd.randrange(height)
        box = [x, y, x + rnd.randrange(width // 10, width // 3), y + rnd.randrange(height // 10, height // 3)]
        draw.ellipse(box, fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    image = Image.blend(image, Image.effect_noise(size, 64).convert("RGB"), noise)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def noise_photo(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(SIZE, 30 + seed).convert("RGB").save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


def process(label: str, contents: list[bytes], record, target: float | None) -> None:
    appeal = AppealFactory()
    items = [
        EvidenceFactory(appeal=appeal, status="pending", content=content, file=ContentFile(content, name=f"p{seed}.jpg"))
        for seed, content in enumerate(contents)
    ]
    times, wall = os.times(), time.perf_counter()
    for item in items:
        assert evidence_process(evidence_id=item.pk).status == "ready"
    after, wall = os.times(), time.perf_counter() - wall
    user, system = after.user - times.user, after.system - times.system
    cpu = user + system  # what time.process_time counts, split into user and kernel (page faults) time
    megabytes = sum(len(c) for c in contents) / len(contents) / 1e6
    note = (
        f"{len(items)} photos of {SIZE[0]}×{SIZE[1]} px, {megabytes:.1f} MB each; "
        f"user {user / len(items) * 1000:.0f} ms + kernel {system / len(items) * 1000:.0f} ms"
    )
    record(f"evidence processing, {label}: CPU per photo", cpu / len(items) * 1000, "ms", target=target, note=note)
    record(f"evidence processing, {label}: images per second", len(items) / wall, "/s", note=note + " (wall clock)")


def test_evidence_processing_cost(record, settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path
    appeal_types_seed(AppealType)
    imagehash.phash(Image.new("RGB", (64, 64)))  # imports scipy, as a worker does once, before the clock starts
    process("~1 MB photos", [photo_like(seed, *ONE_MB) for seed in range(IMAGES)], record, target=60)
    process("~3 MB photos", [photo_like(seed, *THREE_MB) for seed in range(IMAGES)], record, target=60)
    process("noise (worst case)", [noise_photo(seed) for seed in range(IMAGES)], record, target=None)

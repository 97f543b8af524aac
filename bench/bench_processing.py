"""Evidence processing: images per second in one worker process (decode, upright, re-encode without
EXIF, thumbnail, perceptual hash), for ~1 MB phone photos."""

import io
import time

from django.core.files.base import ContentFile
from PIL import Image

from evidence.processing import evidence_process
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory
from tickets.appeal_types import appeal_types_seed
from tickets.models import AppealType

IMAGES = 20


def test_evidence_processing_rate(record, settings, tmp_path):
    settings.EVIDENCE_ROOT = tmp_path
    appeal_types_seed(AppealType)
    appeal = AppealFactory()
    items = []
    for seed in range(IMAGES):
        buffer = io.BytesIO()
        Image.effect_noise((3000, 2000), 30 + seed).convert("RGB").save(buffer, "JPEG", quality=60)
        content = buffer.getvalue()
        items.append(EvidenceFactory(appeal=appeal, status="pending", content=content,
                                     file=ContentFile(content, name=f"p{seed}.jpg")))
    start = time.perf_counter()
    for item in items:
        assert evidence_process(evidence_id=item.pk).status == "ready"
    elapsed = time.perf_counter() - start
    megabytes = sum(i.size for i in items) / IMAGES / 1e6
    record("evidence processing: images per second per worker process", IMAGES / elapsed, "/s",
           note=f"{IMAGES} photos of 3000×2000 px, {megabytes:.1f} MB each")

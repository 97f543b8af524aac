"""Viewer watermarks (`evidence/watermark.py`): what staff are served names who looked and when, the
appellant's own view is the stored file, and the rest of serving (headers, access log) is unchanged."""

import io
from datetime import UTC, datetime

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import time_machine
from django.urls import reverse
from PIL import Image, ImageChops, ImageStat

from evidence import watermark
from evidence.models import EvidenceAccess
from evidence.processing import evidence_process
from evidence.storage import evidence_storage
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory
from tickets.models import Appeal
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 2, 5, tzinfo=UTC)  # 10:05 in Beijing


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def photo(appeal_types):
    """A photo as processing leaves it: the re-encoded file and its thumbnail."""
    return processed("id_front", "id_front.jpg", "image/jpeg", files.photo_bytes(1200, 800, noise_seed=7))


@pytest.fixture
def pdf(appeal_types):
    return processed("carrier_certificate", "certificate.pdf", "application/pdf", files.pdf_with_pages_bytes(2))


def processed(kind: str, original_name: str, content_type: str, content: bytes):
    item = EvidenceFactory(
        appeal=AppealFactory(),
        kind=kind,
        status="pending",
        original_name=original_name,
        content_type=content_type,
        content=content,
    )
    return evidence_process(evidence_id=item.pk)


def body(response) -> bytes:
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def stored(name: str) -> Image.Image:
    with evidence_storage.open(name, "rb") as handle:
        return decoded(handle.read())


def mean_difference(a: Image.Image, b: Image.Image, mask: Image.Image | None = None) -> float:
    """Mean absolute difference per channel (0–255), over `mask`'s white pixels if given."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b), mask).mean) / 3


def mark_of(text: str, unmarked: Image.Image) -> Image.Image:
    """Where the mark with `text` changes the unmarked image visibly (white), as a mask."""
    marked = watermark.watermark_apply(unmarked.copy(), text)
    return ImageChops.difference(marked, unmarked).convert("L").point(lambda v: 255 if v > 24 else 0)


def expected_text(user, appeal) -> str:
    return f"{user.username} · 2026-03-01 10:05 Beijing time · {appeal.reference}"


def holder(agent):
    """The agent holds every appeal of the test (need-to-know: an agent sees the files of the appeals
    they hold; tests/evidence/test_need_to_know.py covers the others)."""
    Appeal.objects.update(assignee=agent, state="in_review")
    return agent


def staff_get(client, user, url: str) -> bytes:
    client.force_login(user)
    return body(client.get(url))


def assert_marked_for(served: Image.Image, unmarked: Image.Image, text: str) -> None:
    """The served image is the unmarked one with `text` drawn over it: the pixels under the mark
    changed, the rest of the document did not (beyond re-encoding)."""
    assert served.size == unmarked.size
    under = mark_of(text, unmarked)
    elsewhere = ImageChops.invert(under)
    assert 0.3 < mean_difference(served, unmarked) < 10  # changed, and still the same document
    assert mean_difference(served, unmarked, under) > 30
    assert mean_difference(served, unmarked, elsewhere) < 4


def test_the_mark_names_the_viewer_the_beijing_time_and_the_appeal(appeal_types):
    appeal = AppealFactory()
    assert watermark.watermark_text(user=UserFactory(username="agent_lin"), appeal=appeal) == (
        f"agent_lin · 2026-03-01 10:05 Beijing time · {appeal.reference}"
    )
    cjk = UserFactory(username="林小姐")  # the font carries no CJK: the account number instead
    assert watermark.watermark_text(user=cjk, appeal=appeal).startswith(f"user {cjk.pk} · ")


def test_staff_see_the_image_with_their_name_and_the_time_over_it(client, photo):
    agent = holder(AgentFactory(username="agent_lin"))
    served = decoded(staff_get(client, agent, reverse("evidence:serve", args=[photo.pk])))
    assert_marked_for(served, stored(photo.file.name), expected_text(agent, photo.appeal))


def test_two_viewers_get_different_bytes_each_with_their_own_name(client, photo):
    agent, supervisor = holder(AgentFactory(username="agent_lin")), SupervisorFactory(username="lead_wu")
    url = reverse("evidence:serve", args=[photo.pk])
    by_agent, by_supervisor = staff_get(client, agent, url), staff_get(client, supervisor, url)
    assert by_agent != by_supervisor
    unmarked = stored(photo.file.name)
    assert_marked_for(decoded(by_supervisor), unmarked, expected_text(supervisor, photo.appeal))
    agents_mark = mark_of(expected_text(agent, photo.appeal), unmarked)
    supervisors_mark = mark_of(expected_text(supervisor, photo.appeal), unmarked)
    only_agents = ImageChops.subtract(agents_mark, supervisors_mark)  # where only the agent's name is drawn
    assert mean_difference(decoded(by_supervisor), unmarked, only_agents) < mean_difference(
        decoded(by_agent), unmarked, only_agents
    )


def test_the_appellant_gets_their_file_unmarked(client, photo):
    assert client.get(reverse("tickets:status", args=[tracking_token_make(photo.appeal.reference)])).status_code == 200
    for url, name in (
        (reverse("evidence:serve", args=[photo.pk]), photo.file.name),
        (reverse("evidence:thumbnail", args=[photo.pk]), photo.thumbnail.name),
    ):
        with evidence_storage.open(name, "rb") as handle:
            assert body(client.get(url)) == handle.read()


def test_thumbnails_carry_the_mark(client, photo):
    agent = holder(AgentFactory(username="agent_lin"))
    served = decoded(staff_get(client, agent, reverse("evidence:thumbnail", args=[photo.pk])))
    assert served.size == (480, 320)
    assert_marked_for(served, stored(photo.thumbnail.name), expected_text(agent, photo.appeal))


def test_rendered_pdf_pages_carry_the_mark(client, pdf):
    agent = holder(AgentFactory(username="agent_lin"))
    for number, name in enumerate(pdf.pages, start=1):
        served = decoded(staff_get(client, agent, reverse("evidence:serve", args=[pdf.pk]) + f"?page={number}"))
        assert_marked_for(served, stored(name), expected_text(agent, pdf.appeal))


def test_a_pdf_downloaded_by_staff_is_rebuilt_from_marked_pages(client, pdf):
    agent = holder(AgentFactory(username="agent_lin"))
    client.force_login(agent)
    response = client.get(reverse("evidence:serve", args=[pdf.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    document = pdfium.PdfDocument(body(response))
    assert len(document) == len(pdf.pages)
    with evidence_storage.open(pdf.file.name, "rb") as handle:
        clean = pdfium.PdfDocument(handle.read())
    for index, name in enumerate(pdf.pages):
        assert document[index].get_size() == pytest.approx(clean[index].get_size(), abs=0.5)  # same paper size
        (image,) = document[index].get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,))
        assert_marked_for(image.get_bitmap().to_pil().convert("RGB"), stored(name), expected_text(agent, pdf.appeal))


def test_every_request_is_logged_once_and_keeps_its_private_headers(client, photo, pdf, settings):
    settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX = "/_evidence/"  # staff bytes are made per viewer: never the proxy's
    client.force_login(holder(AgentFactory()))
    urls = [
        reverse("evidence:serve", args=[photo.pk]),
        reverse("evidence:thumbnail", args=[photo.pk]),
        reverse("evidence:serve", args=[pdf.pk]) + "?page=2",
        reverse("evidence:serve", args=[pdf.pk]),
    ]
    for count, url in enumerate(urls, start=1):
        response = client.get(url)
        assert body(response)
        assert "X-Accel-Redirect" not in response
        assert response["Cache-Control"] == "private, no-store"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"].startswith("default-src 'none'")
        assert response["Cross-Origin-Resource-Policy"] == "same-origin"
        assert EvidenceAccess.objects.count() == count


def test_csv_files_are_text_and_served_to_staff_as_stored(client, appeal_types):
    item = processed("recharge_record", "records.csv", "text/csv", b"date,amount\n2026-01-02,50\n")
    client.force_login(holder(AgentFactory()))
    with evidence_storage.open(item.file.name, "rb") as handle:
        assert body(client.get(reverse("evidence:serve", args=[item.pk]))) == handle.read()


def test_a_large_image_is_marked_at_a_bounded_size(client, photo, monkeypatch):
    monkeypatch.setattr(watermark, "STAFF_VIEW_MAX_SIDE", 600)
    agent = holder(AgentFactory(username="agent_lin"))
    served = decoded(staff_get(client, agent, reverse("evidence:serve", args=[photo.pk])))
    assert served.size == (600, 400)
    unmarked = stored(photo.file.name).resize((600, 400), Image.Resampling.BICUBIC)
    assert_marked_for(served, unmarked, expected_text(agent, photo.appeal))

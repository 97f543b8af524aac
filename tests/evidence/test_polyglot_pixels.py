"""The polyglot check looks where markup or an archive could be used, not inside compressed pixels:
a photo whose pixel data holds "<svg" by chance is accepted (and re-encoded like any other), while
markup appended to an image is still refused."""

import pytest
from django.urls import reverse

from evidence.models import Evidence
from tests import files
from tests.tickets.factories import submission
from tickets.models import Appeal

pytestmark = pytest.mark.django_db


def post_front(client, appeal_types, upload):
    appeal_type = appeal_types["realname_unbind"]
    return client.post(
        reverse("tickets:new", args=[appeal_type.code]),
        submission(appeal_type, evidence_id_front=upload),
        HTTP_ACCEPT_LANGUAGE="en",
    )


@pytest.mark.parametrize(
    ("name", "build", "content_type"),
    [
        ("front.jpg", files.jpeg_with_markup_in_scan_data_bytes, "image/jpeg"),
        ("front.png", files.png_with_markup_pixels_bytes, "image/png"),
    ],
    ids=["jpeg-scan-data", "png-pixels"],
)
def test_markup_bytes_inside_compressed_pixels_are_not_a_polyglot(client, appeal_types, name, build, content_type):
    data = build()
    assert b"<svg" in data  # the bytes are there, in the pixel data
    response = post_front(client, appeal_types, files.upload(name, data, content_type))
    assert response.status_code == 302, response.context["form"].uploads.errors
    assert Evidence.objects.filter(kind="id_front", original_name=name).exists()


@pytest.mark.parametrize(
    "build", [files.polyglot_jpeg_html_bytes, files.polyglot_jpeg_zip_bytes], ids=["html-appended", "zip-appended"]
)
def test_markup_or_an_archive_appended_to_an_image_is_still_refused(client, appeal_types, evidence_root, build):
    response = post_front(client, appeal_types, files.upload("front.jpg", build(), "image/jpeg"))
    assert response.status_code == 400
    assert "contains web page code or an archive hidden inside it" in " ".join(
        response.context["form"].uploads.errors["evidence_id_front"]
    )
    assert Appeal.objects.count() == 0
    assert [p for p in evidence_root.rglob("*") if p.is_file()] == []

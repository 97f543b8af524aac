"""factory-boy factories for evidence, written to the (temporary) private storage."""

import hashlib

import factory
from django.core.files.base import ContentFile

from evidence.models import Evidence
from tests import files


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evidence

    kind = "id_front"
    status = Evidence.Status.READY
    original_name = factory.LazyAttribute(lambda o: f"{o.kind}.jpg")
    content_type = "image/jpeg"
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name=o.original_name))
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())

    class Params:
        content = factory.LazyFunction(lambda: files.photo_bytes(64, 48))

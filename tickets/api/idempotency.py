"""`Idempotency-Key`: a retry of a POST gets the first answer and creates nothing.

The record is inserted in the same transaction as what the request creates, before it: a second
attempt running at the same time waits on the unique key, then finds the first's committed answer.
A request refused (400) stores nothing, so its retry is validated again."""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.models import IdempotencyRecord, Integration

from .errors import IdempotencyKeyReused

HEADER = "Idempotency-Key"
MAX_LENGTH = 255


def idempotency_key_from(request) -> str:
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_LENGTH or not key.isprintable():
        raise ValidationError({HEADER: [_("At most %(n)d printable characters.") % {"n": MAX_LENGTH}]})
    return key


def request_fingerprint(request) -> str:
    """A hash of what was sent: the fields, and each file's name and SHA-256 (computed as it arrived);
    for a JSON body, the decoded body (a multipart request hashes as it always did)."""
    files = {
        name: [
            (uploaded.name, getattr(uploaded, "sha256", None) or _sha256(uploaded)) for uploaded in request.FILES.getlist(name)
        ]
        for name in request.FILES
    }
    sent = {"path": request.path, "fields": sorted(request.POST.lists()), "files": sorted(files.items())}
    if request.content_type.startswith("application/json"):
        sent["json"] = request.data
    return hashlib.sha256(json.dumps(sent, sort_keys=True, default=str).encode()).hexdigest()


def _sha256(uploaded) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def idempotency_replay(*, integration: Integration, key: str, fingerprint: str) -> tuple[int, dict] | None:
    """The first answer to this key, or None if it is new. 422 if it came with another request."""
    record = IdempotencyRecord.objects.filter(integration=integration, key=key).first()
    if record is None:
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReused
    return record.response_status, record.response_body


def idempotent(
    *, integration: Integration, key: str, fingerprint: str, create: Callable[[], tuple[int, dict]]
) -> tuple[int, dict, bool]:
    """Run `create` once per key: (status, body, replayed). Without a key, simply run it."""
    if not key:
        return (*create(), False)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(integration=integration, key=key, request_hash=fingerprint)
        except IntegrityError:
            record = None  # another attempt with this key committed first: its answer below
        if record is not None:
            status, body = create()
            record.response_status, record.response_body = status, body
            record.save(update_fields=["response_status", "response_body"])
            return status, body, False
    replay = idempotency_replay(integration=integration, key=key, fingerprint=fingerprint)
    return (*replay, True)


class IdempotentPostView(APIView):
    """A POST safe to retry with an `Idempotency-Key`: a retry gets the first answer (header
    `Idempotent-Replayed: true`) before anything is read again. `prepare` validates the request (a
    refusal stores nothing, so its retry is validated again) and returns what to run once per key."""

    def prepare(self, request, **kwargs) -> Callable[[], tuple[int, dict]]:
        raise NotImplementedError

    def post(self, request, **kwargs):
        integration = request.auth.integration
        key = idempotency_key_from(request)
        fingerprint = request_fingerprint(request) if key else ""
        replay = idempotency_replay(integration=integration, key=key, fingerprint=fingerprint) if key else None
        if replay is not None:
            return Response(replay[1], status=replay[0], headers={"Idempotent-Replayed": "true"})
        create = self.prepare(request, **kwargs)
        code, body, replayed = idempotent(integration=integration, key=key, fingerprint=fingerprint, create=create)
        return Response(body, status=code, headers={"Idempotent-Replayed": "true"} if replayed else None)

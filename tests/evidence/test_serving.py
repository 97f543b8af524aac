"""`/evidence/<uuid>/`: only the appeal's staff or its appellant (with a valid link), logged, private."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import EvidenceAccess
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, UserFactory
from tickets.models import AppealEvent
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(appeal_types):
    return EvidenceFactory(appeal=AppealFactory(), kind="id_front")


def open_status_page(client, appeal):
    assert client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).status_code == 200


def test_anonymous_gets_404(client, evidence):
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404
    assert client.get(reverse("evidence:thumbnail", args=[evidence.pk])).status_code == 404
    assert EvidenceAccess.objects.count() == 0


def test_another_appellant_gets_404(client, evidence):
    open_status_page(client, AppealFactory())  # a valid link, to a different appeal
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404
    assert EvidenceAccess.objects.count() == 0


def test_a_signed_in_user_who_is_not_staff_gets_404(client, evidence):
    client.force_login(UserFactory())
    assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404


def test_the_appellant_with_a_valid_link_sees_their_file_and_it_is_logged(client, evidence):
    open_status_page(client, evidence.appeal)
    response = client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert response.status_code == 200
    access = EvidenceAccess.objects.get()
    assert (access.user, access.by_appellant, access.ip_address) == (None, True, "127.0.0.1")
    assert AppealEvent.objects.filter(kind="evidence_viewed", actor_label="appellant").count() == 1


def test_an_agent_sees_the_file_with_private_headers_and_it_is_logged(client, evidence):
    agent = AgentFactory()
    evidence.appeal.assignee = agent  # the appeal's assignee (need-to-know: evidence/access.py)
    evidence.appeal.save()
    client.force_login(agent)
    response = client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"].startswith("inline; filename*=UTF-8''id_front.jpg")
    assert "sandbox" in response["Content-Security-Policy"]
    assert EvidenceAccess.objects.get().user == agent
    assert AppealEvent.objects.get(kind="evidence_viewed").actor == agent


def test_pdfs_are_downloaded_not_rendered(client, appeal_types):
    from evidence.processing import evidence_process
    from tests import files

    pdf = EvidenceFactory(
        appeal=AppealFactory(),
        kind="carrier_certificate",
        content_type="application/pdf",
        original_name="证明.pdf",
        content=files.pdf_bytes(),
        status="pending",
    )
    evidence_process(evidence_id=pdf.pk)  # served only as rebuilt from its rendered pages
    client.force_login(SupervisorFactory())
    response = client.get(reverse("evidence:serve", args=[pdf.pk]))
    assert response["Content-Disposition"] == "attachment; filename*=UTF-8''%E8%AF%81%E6%98%8E.pdf"


def test_pending_or_refused_files_are_not_served(client, appeal_types):
    client.force_login(AgentFactory())
    for status in ("pending", "rejected"):
        item = EvidenceFactory(appeal=AppealFactory(), status=status)
        assert client.get(reverse("evidence:serve", args=[item.pk])).status_code == 404


def test_x_accel_redirect_lets_the_proxy_send_the_appellants_file(client, evidence, settings):
    """Staff are served bytes marked for them (tests/evidence/test_watermark.py), never the proxy's."""
    settings.EVIDENCE_X_ACCEL_REDIRECT_PREFIX = "/_evidence/"
    open_status_page(client, evidence.appeal)
    response = client.get(reverse("evidence:serve", args=[evidence.pk]))
    assert response["X-Accel-Redirect"] == f"/_evidence/{evidence.file.name}"
    assert response.content == b""
    assert EvidenceAccess.objects.count() == 1


def test_no_evidence_file_is_reachable_under_static_or_media_urls(evidence, evidence_root, settings, live_server):
    names = [str(p.relative_to(evidence_root)) for p in Path(evidence_root).rglob("*") if p.is_file()]
    assert names
    anonymous, agent = Client(), Client()
    agent.force_login(AgentFactory())
    for name in names:
        for prefix in (settings.STATIC_URL, settings.MEDIA_URL, "/"):
            for client in (anonymous, agent):
                assert client.get(f"{prefix}{name}").status_code == 404, f"{prefix}{name}"
    import urllib.error
    import urllib.request

    for name in names:  # and through a real server, where static files are served too
        for prefix in (settings.STATIC_URL, settings.MEDIA_URL):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(f"{live_server.url}{prefix}{name}")  # noqa: S310 - our own test server
            assert missing.value.code == 404


def test_opening_a_tracking_link_gives_the_browser_a_new_session_key(evidence, settings):
    """Session fixation: a session id planted in the appellant's browser must not carry the grant."""
    from django.contrib.sessions.backends.db import SessionStore

    planted = SessionStore()
    planted["lang"] = "en"
    planted.save()
    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    open_status_page(victim, evidence.appeal)
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    assert victim.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 200

    attacker = Client()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    assert attacker.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 404


def test_the_appellants_access_ends_when_the_tracking_link_expires(client, evidence, settings):
    issued = timezone.now()
    link_age = timedelta(days=settings.TRACKING_LINK_MAX_AGE_DAYS)
    with time_machine.travel(issued, tick=False):
        token = tracking_token_make(evidence.appeal.reference)
    url = reverse("evidence:serve", args=[evidence.pk])
    with time_machine.travel(issued + link_age - timedelta(days=2), tick=False):
        assert client.get(reverse("tickets:status", args=[token])).status_code == 200
        assert client.get(url).status_code == 200
    with time_machine.travel(issued + link_age - timedelta(minutes=1), tick=False):
        assert client.get(url).status_code == 200
    # The session lives on (it is two days old), but the link it was opened with has expired.
    with time_machine.travel(issued + link_age + timedelta(minutes=1), tick=False):
        assert client.get(url).status_code == 404
        assert client.get(reverse("tickets:status", args=[token])).status_code == 410
        assert client.get(url).status_code == 404
    # A fresh link opens it again.
    with time_machine.travel(issued + link_age + timedelta(minutes=2), tick=False):
        open_status_page(client, evidence.appeal)
        assert client.get(url).status_code == 200


def test_an_agent_sees_the_files_only_of_appeals_they_may_handle(client, appeal_types):
    agent = AgentFactory()
    client.force_login(agent)
    mine = EvidenceFactory(appeal=AppealFactory(state="in_review", assignee=agent))
    others = EvidenceFactory(appeal=AppealFactory(state="in_review", assignee=AgentFactory()))
    decided = EvidenceFactory(appeal=AppealFactory(state="rejected", assignee=agent))
    assert client.get(reverse("evidence:serve", args=[mine.pk])).status_code == 200
    assert client.get(reverse("evidence:serve", args=[others.pk])).status_code == 404
    assert client.get(reverse("evidence:thumbnail", args=[decided.pk])).status_code == 404
    assert list(EvidenceAccess.objects.values_list("evidence", flat=True)) == [mine.pk]

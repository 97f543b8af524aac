"""The appellant's rights from the status page (issue 17, items 5 and 6): who viewed which file (by
role), the data download, deleting the ID images after the decision, and "sign out other devices"."""

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from evidence.models import Evidence, EvidenceAccess
from evidence.retention import evidence_purge_expired
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.events import appeal_assigned_event, appeal_comment_event
from tickets.models import AppealEvent, LoginDeviceRecord, OutboundEmail, RechargeRecord
from tickets.services.appellant import appeal_tracking_link_send, appeal_withdraw
from tickets.services.rights import appeal_data_export
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

NOTE = "INTERNAL: the handheld photo looks edited, check with the risk team"


def status_url(appeal, generation=0) -> str:
    return reverse("tickets:status", args=[tracking_token_make(appeal.reference, generation)])


def action_url(route, appeal, generation=0) -> str:
    return reverse(route, args=[tracking_token_make(appeal.reference, generation)])


def opened(appeal, **kwargs) -> Client:
    """A browser that opened the appeal's tracking link (and so holds its grant)."""
    browser = Client(HTTP_ACCEPT_LANGUAGE="en", **kwargs)
    assert browser.get(status_url(appeal)).status_code == 200
    return browser


def id_images(appeal) -> list[Evidence]:
    return [EvidenceFactory(appeal=appeal, kind=kind) for kind in ("id_front", "id_back", "id_handheld")]


@pytest.fixture
def staff():
    return AgentFactory(username="agent_wang_wei"), SupervisorFactory(username="supervisor_li_na")


@pytest.fixture
def decided(appeal_types, staff):
    """An approved appeal the agent worked on, with records, a public reply, an internal note and
    files in every condition: processed, being processed (the raw upload), refused, deleted."""
    agent, supervisor = staff
    appeal = AppealFactory(state="approved", closed_at=timezone.now(), assignee=agent, risk_score=87)
    RechargeRecord.objects.create(appeal=appeal, order_number="TX-2026-1", amount="30.00", paid_at=timezone.now())
    LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), device_model="Redmi Note 12", ip_address="10.1.2.3")
    appeal_assigned_event(appeal=appeal, actor=supervisor, assignee=agent, from_state="submitted")
    appeal_comment_event(appeal=appeal, actor=agent, text=NOTE, public=False)
    appeal_comment_event(appeal=appeal, actor=agent, text="Your appeal is approved.", public=True)
    front = EvidenceFactory(appeal=appeal, kind="id_front", content=files.photo_bytes(64, 48, seed=3))
    raw = EvidenceFactory(appeal=appeal, kind="screenshot", status="pending", content=b"RAW-UPLOAD-BYTES-WITH-EXIF")
    EvidenceFactory(appeal=appeal, kind="other", status="rejected", status_reason="Blurred.")
    gone = EvidenceFactory(appeal=appeal, kind="id_back")
    gone.file.name, gone.purged_at = "", timezone.now()
    gone.save()
    EvidenceAccess.objects.create(evidence=front, user=agent)
    EvidenceAccess.objects.create(evidence=front, user=agent, thumbnail=True)
    EvidenceAccess.objects.create(evidence=front, user=supervisor)
    return appeal, front, raw


def unzip(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


# --- Who viewed my files ---------------------------------------------------------------------------


def test_the_status_page_lists_who_viewed_each_file_by_role_never_by_name(decided, staff):
    appeal, front, _raw = decided
    browser = opened(appeal)
    assert browser.get(reverse("evidence:serve", args=[front.pk])).status_code == 200  # the appellant's own view
    html = browser.get(status_url(appeal)).content.decode()
    entry = html[html.index(f'id="evidence-{front.pk}"') :]
    views = entry[entry.index("<details") : entry.index("</details>")]
    assert "Who viewed this file (last:" in views
    assert "You" in views and "A supervisor" in views and "An agent" in views
    assert "(2 views)" in views  # the agent's file and thumbnail, folded into one entry
    for person in staff:
        assert person.username not in html and person.email not in html


def test_a_file_nobody_viewed_says_so(appeal_types):
    appeal = AppealFactory()
    EvidenceFactory(appeal=appeal)
    assert "Who viewed this file (nobody yet)" in opened(appeal).get(status_url(appeal)).content.decode()


# --- Download my data ------------------------------------------------------------------------------


def test_the_zip_holds_the_appeal_records_timeline_and_processed_files_and_nothing_internal(decided, staff):
    appeal, front, raw = decided
    response = opened(appeal).post(action_url("tickets:status_data", appeal))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip" and response["Cache-Control"] == "private, no-store"
    assert f'filename="{appeal.reference}-my-data.zip"' in response["Content-Disposition"]
    members = unzip(b"".join(response.streaming_content))
    assert set(members) == {"appeal.json", "records.csv", "timeline.csv", "file_views.csv", "README.txt", "files/01-id_front.jpg"}
    facts = json.loads(members["appeal.json"])
    assert facts["reference"] == appeal.reference and facts["contact_email"] == appeal.contact_email
    assert facts["letter_request"] == appeal.letter_request and facts["state"] == "Approved"
    assert "risk_score" not in facts and "assignee" not in facts
    assert b"TX-2026-1" in members["records.csv"] and b"Redmi Note 12" in members["records.csv"]
    assert b"Your appeal is approved." in members["timeline.csv"]
    assert members["files/01-id_front.jpg"] == Path(front.file.path).read_bytes()  # the processed copy
    readme = members["README.txt"].decode()
    assert "ID card, back: id_back.jpg (deleted after the retention period)" in readme
    assert "Screenshot: screenshot.jpg (still being processed)" in readme
    assert "Other: other.jpg (refused: Blurred.)" in readme
    views = members["file_views.csv"].decode()
    assert "An agent" in views and "A supervisor" in views
    everything = b"".join(members.values())
    assert NOTE.encode() not in everything
    assert b"RAW-UPLOAD-BYTES-WITH-EXIF" not in everything  # never the raw upload
    for person in staff:
        assert person.username.encode() not in everything and person.email.encode() not in everything
    assert b"10.1.2.3" in members["records.csv"]  # the appellant's own records, as given
    assert AppealEvent.objects.filter(appeal=appeal, kind="data_downloaded", public=True).count() == 1


def test_after_withdrawal_the_zip_lists_the_files_without_them(appeal_types):
    appeal = AppealFactory()
    EvidenceFactory(appeal=appeal, kind="id_front")
    appeal_withdraw(appeal=appeal)
    with zipfile.ZipFile(appeal_data_export(appeal=appeal)) as archive:
        assert not [name for name in archive.namelist() if name.startswith("files/")]
        assert "(not included: the appeal was withdrawn)" in archive.read("README.txt").decode()


def test_the_download_needs_this_browsers_grant_for_this_appeal(appeal_types):
    appeal, other = AppealFactory(), AppealFactory()
    url = action_url("tickets:status_data", appeal)
    assert Client().post(url).status_code == 403  # the link alone, no grant
    assert opened(other).post(url).status_code == 403  # a grant for another appeal
    assert opened(appeal).get(url).status_code == 405  # never a GET (link prefetchers, mail scanners)
    assert not AppealEvent.objects.filter(kind="data_downloaded").exists()


# --- Delete my ID images after the decision --------------------------------------------------------


def test_the_id_images_are_deleted_once_logged_and_confirmed_by_email(appeal_types, django_capture_on_commit_callbacks):
    appeal = AppealFactory(state="rejected", closed_at=timezone.now())
    images = id_images(appeal)
    kept = EvidenceFactory(appeal=appeal, kind="screenshot")
    EvidenceAccess.objects.create(evidence=images[0], by_appellant=True)
    paths, fingerprints = [Path(e.file.path) for e in images], [e.sha256 for e in images]
    browser = opened(appeal)
    page = browser.get(status_url(appeal)).content.decode()
    assert "data-id-images-form" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(action_url("tickets:status_delete_id_images", appeal), {"confirm": "on"}, follow=True)
    html = response.content.decode()
    assert "Your identity-document images have been deleted. We have sent you a confirmation e-mail." in html
    assert not any(path.exists() for path in paths) and Path(kept.file.path).exists()
    for evidence, sha256 in zip(images, fingerprints, strict=True):
        evidence.refresh_from_db()
        assert evidence.purged_on_request and evidence.purged_at and not evidence.file and evidence.sha256 == sha256
    assert EvidenceAccess.objects.filter(evidence=images[0]).count() == 1  # the audit stays
    assert html.count(", deleted at your request)") == 3
    assert "No identity-document images of yours are kept." in html
    event = AppealEvent.objects.get(appeal=appeal, kind="id_images_deleted")
    assert event.public and event.actor_label == "appellant" and "id_handheld.jpg" in event.comment
    email = OutboundEmail.objects.get(appeal=appeal, template="id_images_deleted")
    assert email.to == appeal.contact_email and "id_front.jpg" in email.body_text and "id_back.jpg" in email.body_html

    again = browser.post(action_url("tickets:status_delete_id_images", appeal), {"confirm": "on"}, follow=True)
    assert "Your identity-document images have already been deleted." in again.content.decode()
    assert AppealEvent.objects.filter(kind="id_images_deleted").count() == 1
    assert OutboundEmail.objects.filter(template="id_images_deleted").count() == 1


def test_the_confirmation_email_is_in_the_appellants_language(appeal_types):
    appeal = AppealFactory(state="approved", closed_at=timezone.now(), language="zh-hans")
    id_images(appeal)
    opened(appeal).post(action_url("tickets:status_delete_id_images", appeal), {"confirm": "on"})
    email = OutboundEmail.objects.get(template="id_images_deleted")
    assert email.subject == f"您的申诉 {appeal.reference} 的身份证件图像已删除"
    assert "应您的要求" in email.body_text


def test_without_the_confirmation_box_nothing_is_deleted(appeal_types):
    appeal = AppealFactory(state="withdrawn", closed_at=timezone.now())
    images = id_images(appeal)
    response = opened(appeal).post(action_url("tickets:status_delete_id_images", appeal), {}, follow=True)
    assert "Nothing was deleted: tick the box" in response.content.decode()
    assert not Evidence.objects.filter(pk__in=[e.pk for e in images], purged_at__isnull=False).exists()


def test_under_legal_hold_the_deletion_is_refused_with_the_reason_shown(appeal_types):
    appeal = AppealFactory(state="approved", closed_at=timezone.now(), legal_hold=True, legal_hold_reason="Court order 2026-118")
    images = id_images(appeal)
    browser = opened(appeal)
    page = browser.get(status_url(appeal)).content.decode()
    assert "data-id-images-form" not in page
    assert "the appeal is under a legal hold" in page
    assert "Court order 2026-118" not in page  # the staff's own reason stays in the console
    response = browser.post(action_url("tickets:status_delete_id_images", appeal), {"confirm": "on"}, follow=True)
    assert "cannot be deleted now: the appeal is under a legal hold" in response.content.decode()
    assert all(Path(e.file.path).exists() for e in images)
    assert not Evidence.objects.filter(purged_at__isnull=False).exists()
    assert not AppealEvent.objects.filter(kind="id_images_deleted").exists()
    assert not OutboundEmail.objects.filter(template="id_images_deleted").exists()


def test_before_the_decision_the_deletion_is_refused(appeal_types):
    appeal = AppealFactory(state="in_review")
    id_images(appeal)
    browser = opened(appeal)
    assert "can be deleted once your appeal is decided" in browser.get(status_url(appeal)).content.decode()
    response = browser.post(action_url("tickets:status_delete_id_images", appeal), {"confirm": "on"}, follow=True)
    assert "can be deleted once your appeal is decided, withdrawn or closed" in response.content.decode()
    assert not Evidence.objects.filter(purged_at__isnull=False).exists()


def test_a_forged_deletion_changes_nothing(appeal_types):
    appeal, other = AppealFactory(state="approved", closed_at=timezone.now()), AppealFactory()
    id_images(appeal)
    url = action_url("tickets:status_delete_id_images", appeal)
    assert Client().post(url, {"confirm": "on"}).status_code == 403  # no grant
    assert opened(other).post(url, {"confirm": "on"}).status_code == 403  # another appeal's grant
    # The right browser, but the request did not come from the page (no CSRF token).
    assert opened(appeal, enforce_csrf_checks=True).post(url, {"confirm": "on"}).status_code == 403
    forged = reverse("tickets:status_delete_id_images", args=[f"{tracking_token_make(appeal.reference)}x"])
    assert opened(appeal).post(forged, {"confirm": "on"}).status_code == 404  # a link that does not check out
    assert not Evidence.objects.filter(purged_at__isnull=False).exists()
    assert not AppealEvent.objects.filter(kind="id_images_deleted").exists()


# --- Sign out other devices ------------------------------------------------------------------------


def test_signing_out_other_devices_ends_older_links_and_their_grants(appeal_types, en_client):
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal)
    lost_phone, this_browser = opened(appeal), opened(appeal)
    serve = reverse("evidence:serve", args=[evidence.pk])
    assert lost_phone.get(serve).status_code == 200

    with time_machine.travel(timezone.now(), tick=False):  # a signed link carries its second: one second for both
        response = this_browser.post(action_url("tickets:status_sign_out_others", appeal))
        assert response.status_code == 302 and response["Location"] == status_url(appeal, generation=1)
    appeal.refresh_from_db()
    assert appeal.tracking_generation == 1
    assert AppealEvent.objects.filter(appeal=appeal, kind="tracking_links_revoked", public=True).count() == 1
    # This browser keeps working, under the new link.
    page = this_browser.get(response["Location"])
    assert page.status_code == 200 and "Other devices are signed out" in page.content.decode()
    assert this_browser.get(serve).status_code == 200
    # The other one: its link reads as expired, its grant serves nothing, and its requests change nothing.
    old = lost_phone.get(status_url(appeal))
    assert old.status_code == 410 and "This link has expired" in old.content.decode()
    assert lost_phone.get(serve).status_code == 404
    assert lost_phone.post(action_url("tickets:status_sign_out_others", appeal)).status_code == 410
    assert lost_phone.post(action_url("tickets:status_sign_out_others", appeal, generation=1)).status_code == 403
    assert lost_phone.post(action_url("tickets:status_data", appeal, generation=1)).status_code == 403
    appeal.refresh_from_db()
    assert appeal.tracking_generation == 1
    # The old link is dead in this browser too.
    assert this_browser.get(status_url(appeal)).status_code == 410


def test_links_mailed_after_signing_out_work(appeal_types):
    appeal = AppealFactory()
    browser = opened(appeal)
    browser.post(action_url("tickets:status_sign_out_others", appeal))
    with time_machine.travel(timezone.now(), tick=False):  # a signed link carries its second: one second for both
        appeal_tracking_link_send(appeal_id=appeal.pk)
        body = OutboundEmail.objects.get(template="tracking_link").body_text
        path = next(word for word in body.split() if "/appeals/status/" in word).removeprefix("http://testserver")
        assert path == status_url(appeal, generation=1)
    assert Client().get(path).status_code == 200


def test_a_sign_out_without_the_grant_changes_nothing(appeal_types):
    appeal = AppealFactory()
    assert Client().post(action_url("tickets:status_sign_out_others", appeal)).status_code == 403
    assert opened(appeal, enforce_csrf_checks=True).post(action_url("tickets:status_sign_out_others", appeal)).status_code == 403
    appeal.refresh_from_db()
    assert appeal.tracking_generation == 0
    assert not AppealEvent.objects.filter(kind="tracking_links_revoked").exists()


# --- Withdrawal and the end of retention end what a link may do ------------------------------------


def test_after_withdrawal_the_link_shows_the_page_but_serves_no_files(appeal_types):
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal)
    browser = opened(appeal)
    serve = reverse("evidence:serve", args=[evidence.pk])
    assert browser.get(serve).status_code == 200
    appeal_withdraw(appeal=appeal)
    page = browser.get(status_url(appeal))
    assert page.status_code == 200 and serve not in page.content.decode()
    assert browser.get(serve).status_code == 404
    assert browser.get(reverse("evidence:thumbnail", args=[evidence.pk])).status_code == 404


def test_after_retention_the_link_shows_the_page_but_serves_no_files(appeal_types, settings, django_capture_on_commit_callbacks):
    appeal = AppealFactory(state="approved", closed_at=timezone.now())
    evidence = EvidenceFactory(appeal=appeal)
    serve = reverse("evidence:serve", args=[evidence.pk])
    with time_machine.travel(timezone.now() + timedelta(days=settings.EVIDENCE_RETENTION_DAYS, minutes=1)):
        browser = opened(appeal)
        assert browser.get(serve).status_code == 200
        with django_capture_on_commit_callbacks(execute=True):
            assert evidence_purge_expired() == 1
        page = browser.get(status_url(appeal)).content.decode()
        assert "deleted after the retention period" in page and serve not in page
        assert browser.get(serve).status_code == 404


def test_a_grant_stored_before_link_generations_holds_until_the_first_sign_out(appeal_types, client):
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal)
    session = client.session
    session["tracked_appeals"] = {appeal.reference: int((timezone.now() + timedelta(days=1)).timestamp())}
    session.save()
    serve = reverse("evidence:serve", args=[evidence.pk])
    assert client.get(serve).status_code == 200  # a bare expiry reads as generation 0
    opened(appeal).post(action_url("tickets:status_sign_out_others", appeal))
    assert client.get(serve).status_code == 404

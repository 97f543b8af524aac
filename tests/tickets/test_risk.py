"""The risk score: each signal and its points, the admin's weights, the score computed on arrival and
after evidence processing, related appeals rescored, the velocity cap (form and API), the two-person
rule from the threshold, and the appeal page's explanation."""

import io
import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image

from evidence.models import Evidence
from evidence.processing import evidence_process
from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, submission, verify_required_evidence
from tickets.id_numbers import id_number_hmac
from tickets.models import Appeal, AppealType, LoginDeviceRecord, OutboundEmail, RiskSignal, RiskWeight
from tickets.risk.services import appeal_risk_score
from tickets.services.agent import appeal_actions_for, appeal_approve, appeal_propose_approval, appeal_second_approve
from tickets.services.errors import WorkflowError
from tickets.services.intake import appeal_submitted_follow_up

from .api.conftest import api_key_issue

pytestmark = pytest.mark.django_db
NEW = "tickets:new"
ID_NUMBER = "11010519491231002X"


def scored(appeal) -> Appeal:
    appeal_risk_score(appeal_id=appeal.pk)
    return Appeal.objects.get(pk=appeal.pk)


def kinds(appeal) -> dict[str, int]:
    return {item["kind"]: item["points"] for item in appeal.risk_signals}


def exif_photo(*, software: str = "", taken_at: str = "", seed: int = 3) -> bytes:
    image = Image.open(io.BytesIO(files.photo_bytes(600, 400, seed=seed)))
    exif = Image.Exif()
    if software:
        exif[0x0131] = software
    if taken_at:
        exif.get_ifd(0x8769)[0x9003] = taken_at
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def file_appeal(client, appeal_types, code="realname_unbind", ip="127.0.0.1", **overrides) -> Appeal:
    """An appeal filed on the form, then its follow-up and evidence processing as the worker runs them."""
    before = set(Appeal.objects.values_list("pk", flat=True))
    response = client.post(reverse(NEW, args=[code]), submission(appeal_types[code], **overrides), REMOTE_ADDR=ip)
    assert response.status_code == 302, response.content[:2000]
    appeal = Appeal.objects.exclude(pk__in=before).get()
    appeal_submitted_follow_up(appeal_id=appeal.pk)
    for evidence in Evidence.objects.filter(appeal=appeal):
        evidence_process(evidence_id=evidence.pk)
    return Appeal.objects.get(pk=appeal.pk)


# --- The signals, each with its points.


def test_a_plain_appeal_scores_zero_and_is_scored_on_arrival(client, appeal_types):
    appeal = file_appeal(client, appeal_types)
    assert appeal.risk_score == 0
    assert appeal.risk_signals == []
    assert appeal.risk_scored_at is not None


def test_a_disposable_email_domain_from_the_maintained_list_adds_its_points(db):
    appeal = scored(AppealFactory(contact_email="someone@mailinator.com"))
    assert kinds(appeal) == {"disposable_email": 20}
    assert appeal.risk_score == 20
    assert appeal.risk_signals[0]["detail"] == "mailinator.com"
    assert kinds(scored(AppealFactory(contact_email="someone@example.com"))) == {}


def test_an_address_none_of_the_declared_devices_used(db):
    appeal = AppealFactory(submitted_ip="198.51.100.9")
    LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), ip_address="203.0.113.7", device_model="iPhone")
    assert kinds(scored(appeal)) == {"address_not_device": 10}
    LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), ip_address="198.51.100.9", device_model="iPad")
    assert kinds(scored(appeal)) == {}


def test_no_declared_device_address_is_no_signal(db):
    appeal = AppealFactory(submitted_ip="198.51.100.9")
    LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), device_model="iPhone")
    assert kinds(scored(appeal)) == {}


def test_photo_metadata_is_read_before_it_is_stripped(client, appeal_types):
    edited = exif_photo(software="Adobe Photoshop 25.0 (Windows)")
    appeal = file_appeal(client, appeal_types, evidence_id_front=files.upload("front.jpg", edited, "image/jpeg"))

    front = Evidence.objects.get(appeal=appeal, kind="id_front")
    assert front.photo_metadata == {"software": "Adobe Photoshop 25.0 (Windows)"}
    with front.file.open("rb") as served:
        assert not Image.open(served).getexif()  # the file we serve carries no metadata
    assert kinds(appeal) == {"photo_edited": 30}
    assert appeal.risk_signals[0]["detail"] == "Adobe Photoshop 25.0 (Windows)"


def test_a_camera_is_no_editing_software(client, appeal_types):
    photo = exif_photo(software="HUAWEI Camera", taken_at=timezone.localtime().strftime("%Y:%m:%d %H:%M:%S"))
    appeal = file_appeal(client, appeal_types, evidence_id_handheld=files.upload("me.jpg", photo, "image/jpeg"))
    assert kinds(appeal) == {}


@pytest.mark.parametrize("age", [timedelta(days=-3), timedelta(days=60)], ids=["in the future", "months old"])
def test_a_handheld_photo_taken_at_a_time_that_does_not_fit(client, appeal_types, age):
    taken = (timezone.localtime() - age).strftime("%Y:%m:%d %H:%M:%S")
    photo = exif_photo(taken_at=taken)
    appeal = file_appeal(client, appeal_types, evidence_id_handheld=files.upload("me.jpg", photo, "image/jpeg"))
    assert kinds(appeal) == {"photo_time": 15}
    assert appeal.risk_signals[0]["detail"] == taken


def test_velocity_per_id_number_from_the_third_appeal_in_30_days(db):
    number = id_number_hmac(ID_NUMBER)
    first = AppealFactory(id_number_hmac=number, account_identifier="same")
    AppealFactory(id_number_hmac=number, account_identifier="same", created_at=timezone.now() - timedelta(days=40))
    assert "velocity_id_number" not in kinds(scored(first))
    AppealFactory(id_number_hmac=number, account_identifier="same")
    third = AppealFactory(id_number_hmac=number, account_identifier="same")
    third = scored(third)
    assert kinds(third)["velocity_id_number"] == 20
    signal = next(s for s in third.risk_signals if s["kind"] == "velocity_id_number")
    assert signal["count"] == 2


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [("contact_phone", "13800138000", "velocity_phone"), ("contact_email", "Same@Example.com", "velocity_email")],
)
def test_velocity_per_phone_and_email(db, field, value, kind):
    appeals = [AppealFactory(**{field: value.lower() if field == "contact_email" else value}) for _ in range(2)]
    third = scored(AppealFactory(**{field: value}))
    assert kind in kinds(third)
    assert {s["kind"]: set(s["references"]) for s in third.risk_signals}[kind] == {a.reference for a in appeals}


def test_velocity_per_device_id(db):
    for _ in range(3):
        appeal = AppealFactory()
        LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), device_model="X", device_id="AA:BB")
    assert "velocity_device" in kinds(scored(appeal))


def test_the_admins_weight_changes_the_points_and_the_score_is_capped_at_100(db):
    RiskWeight.objects.filter(signal="disposable_email").update(weight=95)
    RiskWeight.objects.filter(signal="address_not_device").update(weight=50)
    appeal = AppealFactory(contact_email="x@mailinator.com", submitted_ip="198.51.100.9")
    LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), ip_address="203.0.113.7", device_model="X")
    appeal = scored(appeal)
    assert kinds(appeal) == {"disposable_email": 95, "address_not_device": 50}
    assert appeal.risk_score == 100


def test_the_weights_are_seeded_for_every_signal_and_edited_in_the_admin(admin_client):
    assert set(RiskWeight.objects.values_list("signal", flat=True)) == set(RiskSignal.values)
    weight = RiskWeight.objects.get(signal="same_photo")
    page = admin_client.get(reverse("admin:tickets_riskweight_changelist"))
    assert page.status_code == 200
    response = admin_client.post(
        reverse("admin:tickets_riskweight_change", args=[weight.pk]), {"signal": "same_photo", "weight": "55"}
    )
    assert response.status_code == 302
    weight.refresh_from_db()
    assert weight.weight == 55
    refused = admin_client.post(
        reverse("admin:tickets_riskweight_change", args=[weight.pk]), {"signal": "same_photo", "weight": "101"}
    )
    assert refused.status_code == 200  # at most 100 points


# --- Rescoring related appeals.


def test_a_related_appeal_with_the_same_photo_rescores_the_first(client, appeal_types):
    photo = files.photo_bytes(900, 600, seed=42)
    first = file_appeal(
        client, appeal_types, account_identifier="owner", evidence_id_handheld=files.upload("me.jpg", photo, "image/jpeg")
    )
    assert first.risk_score == 0
    smaller = io.BytesIO()
    Image.open(io.BytesIO(photo)).crop((10, 10, 890, 590)).save(smaller, "JPEG", quality=70)
    second = file_appeal(
        client,
        appeal_types,
        account_identifier="victim",
        contact_email="thief@mailinator.com",
        evidence_id_handheld=files.upload("copy.jpg", smaller.getvalue(), "image/jpeg"),
    )
    assert {"same_photo", "disposable_email"} <= set(kinds(second))
    first.refresh_from_db()
    assert kinds(first)["same_photo"] == 40
    assert next(s for s in first.risk_signals if s["kind"] == "same_photo")["references"] == [second.reference]


# --- The velocity cap: a clear refusal, nothing stored.


def cap_reached(cap: int, **fields) -> None:
    for _ in range(cap):
        AppealFactory(**fields)


@override_settings(RISK_VELOCITY_CAP=3)
@pytest.mark.parametrize(
    "fields",
    [
        {"id_number_hmac": id_number_hmac(ID_NUMBER)},
        {"contact_email": "LI.LEI@example.com"},
        {"contact_phone": "+86 138 0013 8000"},
    ],
    ids=["id number", "e-mail", "phone"],
)
def test_the_form_refuses_an_appeal_past_the_cap_and_stores_nothing(en_client, appeal_types, evidence_root, fields):
    cap_reached(3, **fields)
    response = en_client.post(
        reverse(NEW, args=["realname_unbind"]), submission(appeal_types["realname_unbind"], id_number=ID_NUMBER)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 3 appeals can be filed in 30 days" in html and "this appeal was not sent" in html
    assert Appeal.objects.count() == 3
    assert Evidence.objects.count() == 0 and OutboundEmail.objects.count() == 0
    assert not any(evidence_root.rglob("*.*"))


@override_settings(RISK_VELOCITY_CAP=3)
def test_the_cap_counts_the_device_ids_named_on_the_form(en_client, appeal_types):
    for _ in range(3):
        appeal = AppealFactory()
        LoginDeviceRecord.objects.create(appeal=appeal, seen_at=timezone.now(), device_model="X", device_id="AA:BB:CC:DD:EE:FF")
    response = en_client.post(
        reverse(NEW, args=["account_recovery"]), submission(appeal_types["account_recovery"]), HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "At most 3 appeals" in " ".join(response.json()["errors"]["__all__"])
    assert Appeal.objects.count() == 3


@override_settings(RISK_VELOCITY_CAP=3)
def test_appeals_older_than_30_days_do_not_count_toward_the_cap(en_client, appeal_types):
    cap_reached(3, contact_email="li.lei@example.com", created_at=timezone.now() - timedelta(days=31))
    response = en_client.post(reverse(NEW, args=["realname_unbind"]), submission(appeal_types["realname_unbind"]))
    assert response.status_code == 302


@override_settings(RISK_VELOCITY_CAP=2)
def test_the_api_refuses_an_appeal_past_the_cap_and_stores_nothing(client, appeal_types, integration_with_key):
    cap_reached(2, id_number_hmac=id_number_hmac(ID_NUMBER))

    def data():
        return {"appeal_type": "realname_unbind", **submission(appeal_types["realname_unbind"], id_number=ID_NUMBER)}

    key = f"Api-Key {integration_with_key}"
    response = client.post(reverse("api:appeal-create"), data(), HTTP_AUTHORIZATION=key, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "At most 2 appeals can be filed in 30 days" in " ".join(error["fields"]["__all__"])
    assert Appeal.objects.count() == 2 and Evidence.objects.count() == 0
    chinese = client.post(reverse("api:appeal-create"), data(), HTTP_AUTHORIZATION=key, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "30 天内最多可提交 2 份申诉" in " ".join(chinese.json()["error"]["fields"]["__all__"])
    assert Appeal.objects.count() == 2


@pytest.fixture
def integration_with_key(db):
    from integrations.models import Integration

    return api_key_issue(Integration.objects.create(name="PayApp"))


# --- The two-person rule from the threshold, whatever the type.


def low_risk_in_review(*, score: int, agent):
    appeal = AppealFactory(appeal_type=AppealType.objects.get(code="access_card_unbind"), state="in_review", assignee=agent)
    verify_required_evidence(appeal, by=agent)
    Appeal.objects.filter(pk=appeal.pk).update(risk_score=score)
    return Appeal.objects.get(pk=appeal.pk)


def test_a_low_risk_type_below_the_threshold_is_approved_by_one_person(db):
    agent = AgentFactory()
    appeal = low_risk_in_review(score=69, agent=agent)
    assert "approve" in [a.name for a in appeal_actions_for(appeal=appeal, user=agent)]
    assert appeal_approve(appeal=appeal, actor=agent).state == "approved"


def test_from_the_threshold_any_type_needs_two_people(db):
    agent, supervisor = AgentFactory(), SupervisorFactory()
    appeal = low_risk_in_review(score=70, agent=agent)
    names = [a.name for a in appeal_actions_for(appeal=appeal, user=agent)]
    assert "approve" not in names and "propose_approval" in names
    with translation.override("en"), pytest.raises(WorkflowError, match="Its risk score is 70 \\(two people decide from 70\\)"):
        appeal_approve(appeal=appeal, actor=agent)
    appeal = appeal_propose_approval(appeal=appeal, actor=agent)
    assert appeal.state == "pending_approval"
    with pytest.raises(WorkflowError):
        appeal_second_approve(appeal=appeal, actor=agent)
    assert appeal_second_approve(appeal=appeal, actor=supervisor).state == "approved"


# --- The appeal page explains the score.


def test_the_appeal_page_lists_the_signals_with_their_points(en_client):
    other = AppealFactory()
    appeal = AppealFactory(contact_email="x@mailinator.com")
    Appeal.objects.filter(pk=appeal.pk).update(
        risk_score=55,
        risk_signals=[
            {"kind": "disposable_email", "points": 20, "references": [], "count": 0, "detail": "mailinator.com"},
            {"kind": "same_id_number", "points": 35, "references": [other.reference], "count": 1, "detail": ""},
        ],
    )
    en_client.force_login(AgentFactory())
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert 'data-risk-score="55"' in html
    assert 'data-risk-signal="same_id_number"' in html and "+35" in html
    assert html.index('data-risk-signal="same_id_number"') < html.index('data-risk-signal="disposable_email"')
    assert "Disposable e-mail address" in html and "mailinator.com" in html
    assert f'href="/desk/appeals/{other.reference}/"' in html


def test_json_explanation_is_plain_data(db):
    appeal = scored(AppealFactory(contact_email="x@mailinator.com"))
    assert json.loads(json.dumps(appeal.risk_signals)) == appeal.risk_signals


def test_evidence_factory_files_do_not_break_scoring(db):
    appeal = AppealFactory()
    EvidenceFactory(appeal=appeal, kind="id_front")
    assert scored(appeal).risk_score == 0


# --- The attacker, scripted through HTTP.


def test_a_takeover_attempt_scores_high_shows_its_reasons_on_the_queue_and_needs_two_people(en_client, appeal_types):
    """Someone holding the owner's leaked ID photo and number files for another account: the photo
    re-encoded and slightly cropped, from a disposable address, the fourth appeal this month for that
    ID number."""
    photo = files.photo_bytes(1200, 900, seed=11, noise_seed=11)  # the same pixels every run: the hash distance is fixed
    for account in ("owner", "owner_alt", "owner_old"):
        file_appeal(
            en_client,
            appeal_types,
            "access_card_unbind",
            account_identifier=account,
            contact_email=f"{account}@example.com",
            contact_phone="",
            id_number=ID_NUMBER,
            evidence_screenshot=files.upload("me.jpg", photo, "image/jpeg"),
        )
    copy = io.BytesIO()
    Image.open(io.BytesIO(photo)).crop((12, 9, 1188, 891)).save(copy, "JPEG", quality=75)
    attack = file_appeal(
        en_client,
        appeal_types,
        "access_card_unbind",
        ip="198.51.100.66",
        account_identifier="victim_account",
        contact_email="takeover@mailinator.com",
        contact_phone="",
        id_number=ID_NUMBER,
        evidence_screenshot=files.upload("handheld.jpg", copy.getvalue(), "image/jpeg"),
    )
    assert {"same_photo", "same_id_number", "disposable_email", "velocity_id_number"} <= set(kinds(attack))
    assert attack.risk_score == 100
    assert not attack.appeal_type.needs_second_approval  # a low-risk type: the score alone routes it

    supervisor, second = SupervisorFactory(username="sup1"), SupervisorFactory(username="sup2")
    en_client.force_login(supervisor)
    high = en_client.get(reverse("desk:queue"), {"queue": "high_risk"})
    assert [a.reference for a in high.context["page"].rows][0] == attack.reference
    html = high.content.decode()
    row = html[html.index(f'data-appeal="{attack.reference}"') :].split("</tr>")[0]
    assert 'data-risk-score="100"' in row and "Same photo as appeals for other accounts" in row

    en_client.post(reverse("desk:act", args=[attack.reference]), {"action": "claim", "expected_state": "submitted"})
    verify_required_evidence(Appeal.objects.get(pk=attack.pk), by=supervisor)
    Evidence.objects.filter(appeal=attack).update(verified_at=timezone.now(), verified_by=supervisor)
    attack = Appeal.objects.get(pk=attack.pk)
    assert attack.state == "in_review"
    assert "approve" not in [a.name for a in appeal_actions_for(appeal=attack, user=supervisor)]
    with pytest.raises(WorkflowError):
        appeal_approve(appeal=attack, actor=supervisor)
    attack = appeal_propose_approval(appeal=attack, actor=supervisor)
    with pytest.raises(WorkflowError):
        appeal_second_approve(appeal=attack, actor=supervisor)
    assert appeal_second_approve(appeal=attack, actor=second).state == "approved"


def test_a_handheld_photo_without_a_fresh_photo_code_is_a_signal(appeal_types):
    """An appeal of a type that asks for the handheld photo but carries no code (filed before codes,
    or around the form) may rest on an old, leaked photo."""
    with_code = AppealFactory(appeal_type=appeal_types["realname_unbind"])
    without = AppealFactory(appeal_type=appeal_types["realname_unbind"], fresh_photo_code="")
    no_handheld = AppealFactory(appeal_type=appeal_types["access_card_unbind"], fresh_photo_code="")
    kinds = {}
    for appeal in (with_code, without, no_handheld):
        appeal_risk_score(appeal_id=appeal.pk, related=False)
        appeal.refresh_from_db()
        kinds[appeal.pk] = [signal["kind"] for signal in appeal.risk_signals]
    assert with_code.fresh_photo_code and "fresh_photo_code_missing" not in kinds[with_code.pk]
    assert "fresh_photo_code_missing" in kinds[without.pk] and without.risk_score == 25
    assert "fresh_photo_code_missing" not in kinds[no_handheld.pk]

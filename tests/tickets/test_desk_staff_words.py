"""The console speaks to staff: its own words for states, what each action did, why a button is missing,
and only the evidence details an agent needs at a glance."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import files
from tests.evidence.factories import EvidenceFactory
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

APPELLANT_WORDS = "等待您补充信息"
STAFF_WORDS = "等待申诉人补充"


def test_awaiting_info_is_named_in_staff_words_in_the_queue_filter_and_appeal_page(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now(), language="zh-hans")
    client.force_login(agent)
    queue = client.get(reverse("desk:queue"), {"queue": "mine"}).content.decode()
    assert f"<td>{STAFF_WORDS}</td>" in queue
    assert f'<option value="awaiting_info">{STAFF_WORDS}</option>' in queue
    assert APPELLANT_WORDS not in queue
    page = client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert f'data-state="awaiting_info">{STAFF_WORDS}</span>' in page
    assert APPELLANT_WORDS not in page
    # The appellant's own page keeps the words addressed to them.
    client.logout()
    status = client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).content.decode()
    assert APPELLANT_WORDS in status and STAFF_WORDS not in status


def test_a_stale_action_names_the_new_state_in_staff_words(client, appeal_types, reason_codes):
    agent = AgentFactory()
    appeal = AppealFactory(state="awaiting_info", assignee=agent, sla_paused_at=timezone.now())
    client.force_login(agent)
    response = client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "reject", "expected_state": "in_review", "comment": "no", "reason_code": "ownership_not_shown"},
        follow=True,
    )
    html = response.content.decode()
    assert STAFF_WORDS in html and APPELLANT_WORDS not in html


def test_each_action_says_what_was_done_on_which_appeal(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory()
    client.force_login(agent)
    response = client.post(
        reverse("desk:act", args=[appeal.reference]), {"action": "claim", "expected_state": "submitted"}, follow=True
    )
    html = response.content.decode()
    assert f"{appeal.reference}：已认领。" in html and "操作成功" not in html
    response = client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "escalate", "expected_state": "in_review", "comment": "Forged?"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert f"{appeal.reference}: escalated to the supervisors." in response.content.decode()


def test_the_supervisor_who_proposed_an_approval_is_told_why_they_cannot_give_the_second(en_client, appeal_types):
    proposer, other = SupervisorFactory(), SupervisorFactory()
    appeal = AppealFactory(state="pending_approval", assignee=AgentFactory(), proposed_by=proposer)
    en_client.force_login(proposer)
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert 'data-action="second_approve"' not in html
    assert "You proposed this approval: a different supervisor must give the second approval." in html
    en_client.force_login(other)
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    assert 'data-action="second_approve"' in html and "data-proposed-by-you" not in html


def test_fingerprints_are_folded_away_on_each_evidence_card(en_client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    item = EvidenceFactory(appeal=appeal, perceptual_hash="c3c3a5a5f0f00f0f")
    en_client.force_login(agent)
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    folded = re.search(r"<details[^>]*data-fingerprints>(.*?)</details>", html, re.S)
    assert folded and "<summary>Fingerprints</summary>" in folded.group(1)
    assert item.sha256 in folded.group(1) and "pHash c3c3a5a5f0f00f0f" in folded.group(1)
    outside = html.replace(folded.group(0), "")
    assert item.sha256[:12] not in outside and "c3c3a5a5f0f00f0f" not in outside


def test_a_signal_with_many_appeals_shows_the_count_and_the_nearest_three(en_client, appeal_types):
    now = timezone.now()
    appeal = AppealFactory(id_number_hmac="f" * 64, created_at=now - timedelta(days=10))
    others = [AppealFactory(id_number_hmac="f" * 64, created_at=now - timedelta(days=10, hours=h)) for h in range(1, 14)]
    en_client.force_login(AgentFactory())
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    box = re.search(r'<li data-signal="same_id_number">(.*?)</li>', html, re.S).group(1)
    assert "13 appeals:" in box and "and 10 more" in box
    linked = re.findall(r'href="/desk/appeals/(AP-[^/]+)/"', box)
    assert linked == [a.reference for a in others[:3]]


def test_the_same_photo_signal_lists_the_closest_photos_first(en_client, appeal_types):
    me = AppealFactory()
    EvidenceFactory(appeal=me, perceptual_hash_bits=0, perceptual_hash="0" * 16)
    by_distance = {}
    for bits in (0b111, 0b1, 0b11111, 0b11, 0b1111):  # pHash distances 3, 1, 5, 2, 4
        other = AppealFactory()
        EvidenceFactory(
            appeal=other, content=files.photo_bytes(64, 48, seed=bits), perceptual_hash_bits=bits, perceptual_hash=f"{bits:016x}"
        )
        by_distance[bin(bits).count("1")] = other.reference
    en_client.force_login(AgentFactory())
    html = en_client.get(reverse("desk:appeal", args=[me.reference])).content.decode()
    box = re.search(r'<li data-signal="same_photo">(.*?)</li>', html, re.S).group(1)
    assert re.findall(r'href="/desk/appeals/(AP-[^/]+)/"', box) == [by_distance[1], by_distance[2], by_distance[3]]
    assert "5 appeals:" in box and "and 2 more" in box


def test_console_pages_carry_no_public_footer_or_track_link(en_client, appeal_types):
    appeal = AppealFactory()
    public = en_client.get(reverse("tickets:home")).content.decode()
    assert "Your evidence is used only to decide your appeal" in public and reverse("tickets:track") in public
    en_client.force_login(AgentFactory())
    for url in (reverse("desk:queue"), reverse("desk:appeal", args=[appeal.reference])):
        html = en_client.get(url).content.decode()
        assert "Your evidence is used only to decide your appeal" not in html
        assert f'href="{reverse("tickets:track")}"' not in html


def test_missing_evidence_kinds_are_named_in_the_readers_language(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)  # realname_unbind: front, back, handheld
    EvidenceFactory(appeal=appeal, kind="id_front")
    client.force_login(agent)
    html = client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert zh("ID card, back") in html and zh("Photo of you holding the ID card") in html
    assert "id_back" not in html.split('id="h-evidence"', 1)[1].split("</p>", 1)[0]

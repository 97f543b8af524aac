"""Every page and every e-mail, rendered in zh-hans, shows no English sentence from our catalogue:
this catches text that escapes translation at run time (e.g. translated too early, or stored)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AppealFactory, SupervisorFactory
from tickets.models import OutboundEmail, SlaEvent
from tickets.notifications import outbox_enqueue
from tickets.tracking import tracking_token_make

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
EMAILS = ("acknowledgement", "tracking_link", "withdrawn", "request_info", "approved", "rejected", "reply", "abandoned")


def english_sentences() -> set[str]:
    """Source strings long enough to be unmistakable, whose translation differs from them."""
    sentences = set()
    for block in CATALOGUE.read_text(encoding="utf-8").split("\n\n"):
        if "#~" in block or "msgid_plural" in block:
            continue
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgstr")[0]))
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr")[-1]))
        if msgid and msgstr and msgid != msgstr and len(msgid) >= 12 and "%" not in msgid and "{" not in msgid:
            sentences.add(msgid.replace('\\"', '"'))
    return sentences


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|template)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def untranslated(text: str, sentences: set[str]) -> list[str]:
    return sorted(s for s in sentences if s in text)


@pytest.fixture
def sentences():
    found = english_sentences()
    assert len(found) > 100
    return found


@pytest.mark.django_db
def test_the_check_sees_english_when_it_is_there(appeal_types, sentences):
    english = visible_text(Client(HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode())
    assert len(untranslated(english, sentences)) >= 3


@pytest.mark.django_db
def test_every_page_is_fully_chinese(appeal_types, sentences, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    states = ("submitted", "in_review", "awaiting_info", "pending_approval", "escalated", "approved", "rejected", "withdrawn", "closed")
    appeals = {state: AppealFactory(state=state, closed_at=timezone.now() if state in ("approved", "rejected", "withdrawn", "closed") else None)
               for state in states}
    EvidenceFactory(appeal=appeals["in_review"])
    SlaEvent.objects.create(appeal=appeals["escalated"], kind="breach", cycle=1)
    public = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    pages = ["/", "/appeals/track/", "/accounts/login/", "/appeals/status/not-a-token/"]
    pages += [reverse("tickets:new", args=[code]) for code in appeal_types]
    pages += [reverse("tickets:submitted", args=[appeals["submitted"].reference])]
    pages += [reverse("tickets:status", args=[tracking_token_make(a.reference)]) for a in appeals.values()]
    problems = {}
    for path in pages:
        text = visible_text(public.get(path).content.decode())
        if found := untranslated(text, sentences):
            problems[path] = found
    answered = public.post(reverse("tickets:track"), {"reference": "AP-2222-2222", "email": "x@example.com"})
    if found := untranslated(visible_text(answered.content.decode()), sentences):
        problems["track answer"] = found
    invalid = public.post(reverse("tickets:new", args=["account_recovery"]), {})
    if found := untranslated(visible_text(invalid.content.decode()), sentences):
        problems["form errors"] = found

    staff = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    staff.force_login(SupervisorFactory())
    for path in ["/desk/", "/desk/metrics/", *[f"/desk/?queue={q}" for q in ("unassigned", "mine", "due_soon", "escalated", "decided")],
                 *[reverse("desk:appeal", args=[a.reference]) for a in appeals.values()]]:
        text = visible_text(staff.get(path).content.decode())
        if found := untranslated(text, sentences):
            problems[path] = found
    assert problems == {}


@pytest.mark.django_db
def test_every_email_is_fully_chinese(appeal_types, sentences, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    appeal = AppealFactory(language="zh-hans")
    for template in EMAILS:
        outbox_enqueue(template=template, to="a@example.com", language="zh-hans", appeal=appeal,
                       context={"tracking_url": "https://support.example.com/x/", "message": "……", "days": 14,
                                "evidence": []})
    for kind in ("warning", "breach", "second_breach"):
        outbox_enqueue(template="sla_alert", to="s@example.com", language="zh-hans", appeal=None,
                       context={"kind": kind, "rows": [], "count": 2, "console_url": "https://support.example.com/desk/"})
    problems = {}
    for email in OutboundEmail.objects.all():
        for part, text in (("subject", email.subject), ("text", email.body_text), ("html", visible_text(email.body_html))):
            if found := untranslated(text, sentences):
                problems[f"{email.template} {part}"] = found
    assert problems == {}
    assert OutboundEmail.objects.count() == len(EMAILS) + 3

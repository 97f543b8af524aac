"""Every page and every e-mail, rendered in zh-hans, shows no English sentence from our catalogue:
this catches text that escapes translation at run time (e.g. translated too early, or stored)."""

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.evidence.factories import EvidenceFactory
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tickets.models import AppealEvent, AppealState, OutboundEmail, SlaEvent
from tickets.outbox.services import outbox_enqueue
from tickets.tracking import tracking_token_make

CATALOGUE = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
EMAILS = ("acknowledgement", "tracking_link", "withdrawn", "request_info", "approved", "rejected", "reply", "abandoned")


PLACEHOLDER = re.compile(r"%\(\w+\)[-+ #0-9.]*[sdif]|%[sdif]|%%|\{[^}]*\}")


def english_sentences() -> set[str]:
    """Source strings long enough to be unmistakable, whose translation differs from them; of a string
    with placeholders, each fixed part that long (a sentence filled in at run time is checked too)."""
    sentences = set()
    for block in CATALOGUE.read_text(encoding="utf-8").split("\n\n"):
        if "#~" in block or "msgid_plural" in block:
            continue
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgstr")[0].split("msgid", 1)[-1]))
        msgstr = "".join(re.findall(r'"(.*)"', block.split("msgstr")[-1]))
        if not msgid or not msgstr or msgid == msgstr:
            continue
        for part in PLACEHOLDER.split(msgid.replace('\\"', '"')):
            if len(part.strip()) >= 12 and part.strip() not in msgstr:
                sentences.add(part.strip())
    return sentences


def visible_text(html: str) -> str:
    html = re.sub(r"(?s)<(script|style|template)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def untranslated(text: str, sentences: set[str]) -> list[str]:
    return sorted(s for s in sentences if s in text)


@pytest.fixture
def sentences():
    found = english_sentences()
    assert len(found) > 100
    return found


@pytest.mark.django_db
def test_the_check_sees_english_when_it_is_there(en_client, appeal_types, sentences):
    english = visible_text(en_client.get("/").content.decode())
    assert len(untranslated(english, sentences)) >= 3


@pytest.mark.django_db
def test_every_page_is_fully_chinese(appeal_types, sentences, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    states = (
        "submitted",
        "in_review",
        "awaiting_info",
        "pending_approval",
        "escalated",
        "approved",
        "rejected",
        "withdrawn",
        "closed",
    )
    appeals = {
        state: AppealFactory(
            state=state, closed_at=timezone.now() if state in ("approved", "rejected", "withdrawn", "closed") else None
        )
        for state in states
    }
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
    for path in [
        "/desk/",
        "/desk/metrics/",
        *[f"/desk/?queue={q}" for q in ("unassigned", "mine", "due_soon", "escalated", "decided")],
        *[reverse("desk:appeal", args=[a.reference]) for a in appeals.values()],
    ]:
        text = visible_text(staff.get(path).content.decode())
        if found := untranslated(text, sentences):
            problems[path] = found
    assert problems == {}


@pytest.mark.django_db
def test_every_email_is_fully_chinese(appeal_types, sentences, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    appeal = AppealFactory(language="zh-hans")
    for template in EMAILS:
        outbox_enqueue(
            template=template,
            to="a@example.com",
            language="zh-hans",
            appeal=appeal,
            context={"tracking_url": "https://support.example.com/x/", "message": "……", "days": 14, "evidence": []},
        )
    for kind in ("warning", "breach", "second_breach"):
        outbox_enqueue(
            template="sla_alert",
            to="s@example.com",
            language="zh-hans",
            appeal=None,
            context={"kind": kind, "rows": [], "count": 2, "console_url": "https://support.example.com/desk/"},
        )
    problems = {}
    for email in OutboundEmail.objects.all():
        for part, text in (("subject", email.subject), ("text", email.body_text), ("html", visible_text(email.body_html))):
            if found := untranslated(text, sentences):
                problems[f"{email.template} {part}"] = found
    assert problems == {}
    assert OutboundEmail.objects.count() == len(EMAILS) + 3


def latin_words(text: str) -> set[str]:
    """Words in Latin letters (state codes such as `in_review` count as one word)."""
    return set(re.findall(r"[A-Za-z][A-Za-z_]*", text))


def section(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    assert found, pattern
    return visible_text(found.group(0))


@pytest.mark.django_db
def test_the_metrics_charts_with_data_and_a_timeline_of_every_event_kind_are_fully_chinese(appeal_types, sentences, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    now = timezone.now()
    agent = AgentFactory(username="wang")
    chinese = {
        "language": "zh-hans",
        "letter_background": "自助解绑一直提示“解绑无效”。",
        "letter_steps_taken": "自助解绑两次。",
        "letter_request": "请解除实名认证。",
    }
    # Decided in the last week, in and out of time (compliance, time to decision, workload);
    for hours, met in ((10, True), (30, True), (80, False)):
        created = now - timedelta(days=3)
        closed = created + timedelta(hours=hours)
        AppealFactory(
            state="approved",
            created_at=created,
            closed_at=closed,
            assignee=agent,
            sla_due_at=closed + timedelta(hours=1 if met else -1),
            **chinese,
        )
    # open at every age, one of them overdue (backlog, workload); a breach (breaches per day).
    for age in (5, 30, 60, 100):
        AppealFactory(
            state="in_review",
            created_at=now - timedelta(hours=age),
            assignee=agent,
            sla_due_at=now - timedelta(hours=age - 72),
            **chinese,
        )
    SlaEvent.objects.create(appeal=AppealFactory(**chinese), kind="breach", cycle=1)

    # A timeline with every kind of event, passing through every state, by staff, appellant and system.
    appeal = AppealFactory(state="in_review", assignee=agent, **chinese)
    states = AppealState.values
    actors = [{"actor": agent}, {"actor_label": "appellant"}, {"actor_label": "system"}, {}]
    for index, kind in enumerate(AppealEvent.Kind.values):
        AppealEvent.objects.create(
            appeal=appeal,
            kind=kind,
            from_state=states[index % len(states)],
            to_state=states[(index + 1) % len(states)],
            comment="已处理。",
            public=index % 2 == 0,
            **actors[index % len(actors)],
        )

    staff = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    staff.force_login(SupervisorFactory(username="li"))
    metrics_html = staff.get(reverse("desk:metrics")).content.decode()
    appeal_html = staff.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()

    charts = re.findall(r'(?s)data-chart="([\w-]+)"(.*?)</section>', metrics_html)
    assert {key for key, _html in charts} >= {
        "compliance-by-type",
        "compliance-by-week",
        "backlog",
        "breaches-by-day",
        "workload",
        "time-to-decision",
    }
    assert all("<svg" in chart for key, chart in charts if key != "time-to-decision"), "a chart without bars"
    charts_text = " ".join(visible_text(chart) for _key, chart in charts)
    timeline = section(appeal_html, r'(?s)<section[^>]*aria-labelledby="h-timeline".*?</section>')
    # Nothing in Latin letters but the agents' and the types' names: no source text that escaped the
    # catalogue (a sentence built in an f-string), no stored code (`in_review`, `appellant`, `system`).
    names = {"wang", "li", *latin_words(" ".join(str(t.name) for t in appeal_types.values()))}
    leaks = {
        "metrics page": untranslated(visible_text(metrics_html), sentences),
        "metrics charts": sorted(latin_words(charts_text) - names),
        "appeal page": untranslated(visible_text(appeal_html), sentences),
        "timeline": sorted(latin_words(timeline) - names),
    }
    assert leaks == {"metrics page": [], "metrics charts": [], "appeal page": [], "timeline": []}
    assert "申诉人" in timeline and "系统" in timeline and "wang" in timeline
    assert f"{zh('Submitted')} → {zh('In review')}" in timeline


@pytest.mark.django_db
def test_the_fulfilment_pages_and_emails_are_fully_chinese(appeal_types, sentences, settings):
    from tickets.services.fulfilment import (
        appeal_fulfilment_report,
        appeal_release,
        fulfilment_overdue_sweep,
    )

    settings.LANGUAGE_CODE = "zh-hans"
    agent = AgentFactory(email="agent@example.com")
    SupervisorFactory(email="sup@example.com")
    appeals = {}
    for code in appeal_types:  # every type's words, carried out
        appeal = appeal_release(appeal=AppealFactory(appeal_type=appeal_types[code], state="approved", language="zh-hans"))
        appeals[f"done {code}"] = appeal_fulfilment_report(appeal=appeal, outcome="done")
    with_type = {"appeal_type": appeal_types["phone_rebind"], "state": "approved", "language": "zh-hans", "assignee": agent}
    appeals["failed"] = appeal_fulfilment_report(appeal=appeal_release(appeal=AppealFactory(**with_type)), outcome="failed")
    with time_machine.travel(timezone.now() - timedelta(days=3)):
        appeals["overdue"] = appeal_release(appeal=AppealFactory(**with_type))
    assert fulfilment_overdue_sweep() == [appeals["overdue"].reference]

    problems = {}
    public = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    staff = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    staff.force_login(agent)
    for name, appeal in appeals.items():
        for who, path in (
            ("status", reverse("tickets:status", args=[tracking_token_make(appeal.reference)])),
            ("console", reverse("desk:appeal", args=[appeal.reference])),
        ):
            if found := untranslated(visible_text((public if who == "status" else staff).get(path).content.decode()), sentences):
                problems[f"{who} {name}"] = found
    for path in ("/desk/?queue=fulfilment",):
        if found := untranslated(visible_text(staff.get(path).content.decode()), sentences):
            problems[path] = found
    emails = OutboundEmail.objects.filter(template__startswith="fulfilment_")
    assert {e.template for e in emails} == {"fulfilment_reported", "fulfilment_alert"}
    for email in emails:
        for part, text in (("subject", email.subject), ("text", email.body_text), ("html", visible_text(email.body_html))):
            if found := untranslated(text, sentences):
                problems[f"{email.template} {email.to} {part}"] = found
    assert problems == {}

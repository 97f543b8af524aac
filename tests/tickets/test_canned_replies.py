"""Canned replies: the admin refuses a body with an unknown placeholder; the appeal page carries the active
replies in the appeal's language, filled for that appeal, and nothing else."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import CannedReply

pytestmark = pytest.mark.django_db

ADD = reverse("admin:tickets_cannedreply_add")


def test_the_admin_stores_a_reply_using_the_known_placeholders(admin_client):
    body = "Dear {name}, your appeal {reference}: please answer by {deadline}."
    response = admin_client.post(ADD, {"title": "Ask again", "language": "en", "body": body, "active": "on"})
    assert response.status_code == 302
    assert CannedReply.objects.get().body == body


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Dear {nmae}, about {reference}.", "{nmae}"),
        ("Your case {Reference} is open.", "{Reference}"),
        ("Answer by {deadline:%Y} please.", "{deadline:%Y}"),
        ("A stray brace { here, {reference}.", "{"),
        ("And one } there.", "}"),
    ],
)
def test_the_admin_refuses_an_unknown_placeholder_names_it_and_stores_nothing(admin_client, body, named):
    data = {"title": "Broken", "language": "zh-hans", "body": body, "active": "on"}
    response = admin_client.post(ADD, data, headers={"accept-language": "en"})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["body"]
    assert errors == [f"Unknown placeholder or stray brace: {named}. Braces are only for {{reference}}, {{deadline}}, {{name}}."]
    assert named in response.content.decode().replace("&#x27;", "'")
    assert not CannedReply.objects.exists()


def test_the_refusal_reads_in_chinese_too(admin_client):
    data = {"title": "坏的", "language": "zh-hans", "body": "{姓名} 您好", "active": "on"}
    response = admin_client.post(ADD, data, headers={"accept-language": "zh-hans"})
    assert response.context["adminform"].form.errors["body"] == [
        "未知的占位符或多余的花括号：{姓名}。花括号只能用于 {reference}, {deadline}, {name}。"
    ]
    assert not CannedReply.objects.exists()


def test_the_admin_refuses_a_second_reply_of_the_same_title_in_a_language(admin_client):
    CannedReply.objects.create(title="Blurred ID", language="en", body="Hello {name}.")
    data = {"title": "Blurred ID", "language": "en", "body": "Other", "active": "on"}
    response = admin_client.post(ADD, data, headers={"accept-language": "en"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["__all__"] == ["Canned reply with this Language and Title already exists."]
    assert CannedReply.objects.count() == 1


def _page(client, appeal) -> str:
    response = client.get(reverse("desk:appeal", args=[appeal.reference]))
    assert response.status_code == 200
    return response.content.decode()


@time_machine.travel(datetime(2026, 3, 2, 1, 0, tzinfo=UTC), tick=False)
def test_the_appeal_page_carries_the_active_replies_of_its_language_filled_for_it(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(
        state="in_review",
        assignee=agent,
        language="zh-hans",
        account_identifier="li_<lei>",
        sla_due_at=datetime(2026, 3, 5, 1, 0, tzinfo=UTC),
    )
    body = "{name} 您好：申诉 {reference} 将于 {deadline} 前答复。"
    CannedReply.objects.create(title="补充材料", language="zh-hans", body=body)
    CannedReply.objects.create(title="English one", language="en", body="Hello {name}.")
    CannedReply.objects.create(title="停用", language="zh-hans", body="不再使用 {reference}", active=False)
    client.force_login(agent)
    page = _page(client, appeal)
    assert "data-canned-replies" in page
    # Filled on the server, escaped; Beijing time (UTC+8).
    assert f"li_&lt;lei&gt; 您好：申诉 {appeal.reference} 将于 2026-03-05 09:00 前答复。" in page
    assert 'data-title="补充材料"' in page
    assert "English one" not in page and "Hello" not in page
    assert "停用" not in page and "不再使用" not in page
    assert "{name}" not in page and "{reference}" not in page


def test_while_waiting_on_the_appellant_the_deadline_is_their_reply_deadline(client, appeal_types, settings):
    agent = AgentFactory()
    paused = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)
    appeal = AppealFactory(state="awaiting_info", assignee=agent, account_identifier="", sla_paused_at=paused)
    CannedReply.objects.create(title="Reminder", language="en", body="{name}: answer by {deadline}.")
    client.force_login(agent)
    expected = (paused + timedelta(days=settings.ABANDON_AFTER_DAYS) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert f"{appeal.contact_email}: answer by {expected}." in _page(client, appeal)


def test_an_admins_change_is_offered_at_once_and_no_list_without_replies(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    client.force_login(agent)
    assert "data-canned" not in _page(client, appeal)  # nothing to offer: no picker at all
    reply = CannedReply.objects.create(title="First", language="en", body="About {reference}.")
    assert f"About {appeal.reference}." in _page(client, appeal)
    reply.body = "Now about {reference}."
    reply.save()
    assert f"Now about {appeal.reference}." in _page(client, appeal)
    reply.active = False
    reply.save()
    assert "data-canned" not in _page(client, appeal)


def test_who_may_not_reply_is_not_offered_the_replies(client, appeal_types):
    appeal = AppealFactory(state="in_review", assignee=AgentFactory())
    CannedReply.objects.create(title="First", language="en", body="About {reference}.")
    client.force_login(AgentFactory())  # not the assignee: internal notes only
    assert "data-canned" not in _page(client, appeal)


def test_seed_demo_adds_valid_replies_in_both_languages_once_and_keeps_an_admins_change(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    replies = list(CannedReply.objects.all())
    assert {r.language for r in replies} == {"en", "zh-hans"}
    for reply in replies:
        reply.full_clean()  # the admin would accept each
    changed = replies[0]
    changed.body = "Changed by an administrator for {reference}."
    changed.save()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "canned replies: already there" in out.getvalue()
    assert CannedReply.objects.count() == len(replies)
    changed.refresh_from_db()
    assert changed.body == "Changed by an administrator for {reference}."


def test_the_replies_come_from_the_cache_the_appeal_page_runs_no_query_for_them(client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    client.force_login(agent)
    url = reverse("desk:appeal", args=[appeal.reference])

    def queries() -> list[str]:
        client.get(url)  # the cache warmed, as on a working console
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in captured.captured_queries]

    without = queries()
    CannedReply.objects.bulk_create([CannedReply(title=f"Reply {n}", language="en", body="About {reference}.") for n in range(5)])
    cache.clear()  # bulk_create sends no signal: drop the cached (empty) list by hand
    with_replies = queries()
    assert len(with_replies) == len(without)
    assert not any("tickets_cannedreply" in sql for sql in with_replies)
    assert client.get(url).content.decode().count(f"About {appeal.reference}.") == 5

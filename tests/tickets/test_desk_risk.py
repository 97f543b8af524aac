"""The risk score in the console's queues: on every row with its first reasons, the "High risk" queue,
a minimum score filter, and the sort by score with its own keyset cursor — in as many queries as
before, however many rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import Appeal

pytestmark = pytest.mark.django_db
REASONS = [{"kind": "disposable_email", "points": 20}, {"kind": "same_photo", "points": 40}]


@pytest.fixture
def agent_client(en_client):
    en_client.force_login(AgentFactory(username="agent1"))
    return en_client


def with_score(score: int, **fields) -> Appeal:
    appeal = AppealFactory(**fields)
    Appeal.objects.filter(pk=appeal.pk).update(risk_score=score, risk_signals=REASONS if score else [])
    return Appeal.objects.get(pk=appeal.pk)


def refs(client, **params) -> list[str]:
    return [a.reference for a in client.get(reverse("desk:queue"), {"queue": "open", **params}).context["page"].rows]


def test_every_row_shows_the_score_and_its_first_reasons(agent_client, appeal_types):
    risky, plain = with_score(75), with_score(0)
    html = agent_client.get(reverse("desk:queue")).content.decode()
    row = html[html.index(f'data-appeal="{risky.reference}"') :].split("</tr>")[0]
    assert 'data-risk-score="75"' in row and "text-bg-danger" in row
    assert "Disposable e-mail address, Same photo as appeals for other accounts" in row
    other = html[html.index(f'data-appeal="{plain.reference}"') :].split("</tr>")[0]
    assert 'data-risk-score="0"' in other


def test_the_high_risk_queue_holds_the_open_appeals_from_the_threshold_highest_first(agent_client, appeal_types):
    highest, high = with_score(90), with_score(70)
    with_score(69)
    with_score(95, state="rejected")
    assert refs(agent_client, queue="high_risk") == [highest.reference, high.reference]
    html = agent_client.get(reverse("desk:queue")).content.decode()
    assert "?queue=high_risk" in html and "High risk" in html


def test_filter_by_minimum_score(agent_client, appeal_types):
    some, more = with_score(30), with_score(60)
    with_score(10)
    assert set(refs(agent_client, min_score="30")) == {some.reference, more.reference}
    assert len(refs(agent_client, min_score="500")) == 3  # not a score: no filter


def test_sort_by_score_pages_with_its_own_cursor(agent_client, appeal_types):
    appeals = [with_score(score) for score in (5, 50, 50, 80, 0, 50, 20)]
    first = agent_client.get(reverse("desk:queue"), {"queue": "open", "sort": "risk", "size": "25"}).context["page"]
    assert len(first.rows) == 7 and first.next_cursor is None
    expected = [a.reference for a in sorted(appeals, key=lambda a: (a.risk_score, a.pk), reverse=True)]
    assert [a.reference for a in first.rows] == expected

    more = [with_score(40) for _ in range(30)]
    ordered = sorted([*appeals, *more], key=lambda a: (a.risk_score, a.pk), reverse=True)
    page_one = agent_client.get(reverse("desk:queue"), {"queue": "open", "sort": "risk", "size": "25"}).context["page"]
    params = {"queue": "open", "sort": "risk", "size": "25", "after": page_one.next_cursor}
    page_two = agent_client.get(reverse("desk:queue"), params).context["page"]
    assert [a.pk for a in page_one.rows + page_two.rows] == [a.pk for a in ordered]
    assert page_two.next_cursor is None


def test_a_tampered_score_cursor_starts_from_the_first_page(agent_client, appeal_types):
    first = with_score(10)
    assert refs(agent_client, sort="risk", after="bm90LWEtY3Vyc29y") == [first.reference]


def queries_for_sorted_queue(client, count: int, **params) -> int:
    for index in range(count):
        with_score(70 + index % 31, assignee=AgentFactory())  # every one in the "High risk" queue too
    client.get(reverse("desk:queue"))  # the appeal types and agents are cached, as on a working console
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("desk:queue"), {"size": "200", **params})
    assert response.status_code == 200
    assert len(response.context["page"].rows) == Appeal.objects.count()
    return len(queries)


@pytest.mark.parametrize(
    "params",
    [{"queue": "open", "sort": "risk"}, {"queue": "high_risk"}, {"queue": "open", "min_score": "0"}],
    ids=["sorted", "high risk", "filtered"],
)
def test_the_score_costs_no_query_per_row(agent_client, appeal_types, params):
    with_10 = queries_for_sorted_queue(agent_client, 10, **params)
    Appeal.objects.all().delete()
    with_200 = queries_for_sorted_queue(agent_client, 200, **params)
    assert with_10 == with_200 <= 10


def test_the_sort_by_score_walks_its_partial_index(agent_client, appeal_types):
    """The plan of the first page, on an empty table with scans and sorts that cannot give the order
    turned off: an index the migration made serves the order, read backwards (highest first)."""
    from tickets.selectors import appeal_list_for_agent

    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
    user = AgentFactory()
    with CaptureQueriesContext(connection) as queries:
        appeal_list_for_agent(user=user, queue="open", filters={"sort": "risk"}, size=50)
    sql = next(q["sql"] for q in reversed(queries.captured_queries) if 'FROM "tickets_appeal"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "Index Scan Backward using appeal_open_risk" in plan

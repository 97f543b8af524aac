"""The fulfilment loop: an approval releases the appeal to the platform, the platform reports it done
or failed, the appellant is told, failures and overdue releases alert the staff."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from integrations.models import Integration, IntegrationEvent
from tests.concurrency import at_once
from tests.text import zh
from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tests.tickets.queues import queue_query_count
from tickets.diagram import fulfilment_mermaid
from tickets.models import Appeal, AppealEvent, FulfilmentOverdue, OutboundEmail
from tickets.reports.metrics import metrics_compute
from tickets.services import agent as agent_services
from tickets.services.errors import WorkflowError
from tickets.services.fulfilment import (
    appeal_fulfilment_report,
    appeal_release,
    appeal_release_again,
    fulfilment_overdue_sweep,
)
from tickets.services.hold import release_sweep
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

DONE_EN = {
    "realname_unbind": "Your real-name verification has been unbound: the unbind has been carried out.",
    "phone_rebind": "Your phone number has been changed on the account.",
}
FAILED_EN = (
    "The platform could not carry out your approved request yet. An agent is on it, and we will write to you when it is done."
)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"  # staff alerts are written in the site's language
    with translation.override("en"):
        yield


@pytest.fixture
def staff(db):
    return {
        "agent": AgentFactory(username="agent", email="agent@example.com"),
        "agent2": AgentFactory(username="agent2", email="agent2@example.com"),
        "sup1": SupervisorFactory(username="sup1", email="sup1@example.com"),
        "sup2": SupervisorFactory(username="sup2", email="sup2@example.com"),
    }


def released(appeal_types, staff, code="realname_unbind", **kwargs) -> Appeal:
    """An approved appeal held by the agent, released to the platform."""
    appeal = AppealFactory(appeal_type=appeal_types[code], state="approved", assignee=staff["agent"], **kwargs)
    return appeal_release(appeal=appeal)


def emails(template: str) -> dict[str, OutboundEmail]:
    return {e.to: e for e in OutboundEmail.objects.filter(template=template)}


# Release on approval.


def test_an_approval_releases_the_appeal_in_its_transaction(appeal_types, staff):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=staff["agent"])
    verify_required_evidence(appeal, by=staff["agent"])
    assert appeal.fulfilment == "not_released"
    agent_services.appeal_approve(appeal=appeal, actor=staff["agent"], comment="Unbinding now.")
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment, appeal.fulfilment_release) == ("approved", "released", 1)
    assert appeal.released_at is not None
    kinds = list(appeal.events.values_list("kind", "public"))
    assert kinds[-2:] == [("approve", True), ("release", False)]


def test_an_approval_that_fails_after_the_release_leaves_neither_decided_nor_released(appeal_types, staff):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=staff["agent"])
    verify_required_evidence(appeal, by=staff["agent"])
    outbox_down = mock.patch.object(agent_services, "appellant_email_enqueue", side_effect=RuntimeError("outbox down"))
    with outbox_down, pytest.raises(RuntimeError):
        agent_services.appeal_approve(appeal=appeal, actor=staff["agent"])
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment, appeal.released_at) == ("in_review", "not_released", None)
    assert not appeal.events.filter(kind__in=["approve", "release"]).exists()


def test_the_second_approval_holds_a_high_risk_appeal_and_the_sweep_releases_it_when_the_hold_ends(appeal_types, staff):
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"], state="in_review", assignee=staff["agent"])
    verify_required_evidence(appeal, by=staff["agent"])
    agent_services.appeal_propose_approval(appeal=appeal, actor=staff["agent"], code_matches=True)
    appeal.refresh_from_db()
    assert appeal.fulfilment == "not_released"  # proposed is not decided
    agent_services.appeal_second_approve(appeal=appeal, actor=staff["sup1"], code_matches=True)
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment, appeal.released_at) == ("approved", "held", None)
    with time_machine.travel(appeal.hold_until - timedelta(seconds=1)):
        assert release_sweep() == []
    with time_machine.travel(appeal.hold_until):
        assert release_sweep() == [appeal.reference]
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment, appeal.fulfilment_release) == ("approved", "released", 1)


def test_a_rejected_appeal_is_never_released_and_cannot_be_reported(appeal_types, staff, reason_codes):
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=staff["agent"])
    agent_services.appeal_reject(
        appeal=appeal, actor=staff["agent"], reason="The ID does not match.", reason_code="name_mismatch"
    )
    appeal.refresh_from_db()
    assert (appeal.state, appeal.fulfilment) == ("rejected", "not_released")
    before = (AppealEvent.objects.count(), OutboundEmail.objects.count())
    with pytest.raises(WorkflowError):
        appeal_fulfilment_report(appeal=appeal, outcome="done")
    with pytest.raises(WorkflowError):
        appeal_release(appeal=appeal)
    appeal.refresh_from_db()
    assert appeal.fulfilment == "not_released"
    assert (AppealEvent.objects.count(), OutboundEmail.objects.count()) == before


@pytest.mark.parametrize("state", ["submitted", "in_review", "pending_approval", "awaiting_info"])
def test_a_report_on_an_undecided_appeal_is_refused_and_stores_nothing(appeal_types, staff, state):
    appeal = AppealFactory(state=state, assignee=staff["agent"])
    for outcome in ("done", "failed"):
        with pytest.raises(WorkflowError):
            appeal_fulfilment_report(appeal=appeal, outcome=outcome, detail="Unbound.")
    appeal.refresh_from_db()
    assert (appeal.fulfilment, appeal.fulfilment_reported_at, appeal.fulfilment_detail) == ("not_released", None, "")
    assert not AppealEvent.objects.exists() and not OutboundEmail.objects.exists()


def test_an_unknown_outcome_is_refused(appeal_types, staff):
    appeal = released(appeal_types, staff)
    with pytest.raises(WorkflowError):
        appeal_fulfilment_report(appeal=appeal, outcome="maybe")
    appeal.refresh_from_db()
    assert appeal.fulfilment == "released"


# Reports.


@pytest.mark.parametrize("code", ["realname_unbind", "phone_rebind"])
def test_done_tells_the_appellant_in_the_words_of_the_type_once(appeal_types, staff, code):
    appeal = released(appeal_types, staff, code=code)
    appeal_fulfilment_report(appeal=appeal, outcome="done", detail="ok")
    appeal_fulfilment_report(appeal=appeal, outcome="done", detail="ok (retried)")  # the platform retries
    appeal.refresh_from_db()
    assert appeal.fulfilment == "done" and appeal.fulfilment_reported_at is not None
    assert appeal.fulfilment_detail == "ok"  # the retry changed nothing
    [email] = OutboundEmail.objects.filter(template="fulfilment_reported")
    assert email.to == appeal.contact_email
    assert DONE_EN[code] in email.body_text and "carried out" in email.subject
    assert appeal.events.filter(kind="fulfilment_done", public=True).count() == 1
    assert not OutboundEmail.objects.filter(template="fulfilment_alert").exists()


def test_done_is_said_in_chinese_to_a_chinese_appellant(appeal_types, staff):
    appeal = released(appeal_types, staff, language="zh-hans")
    appeal_fulfilment_report(appeal=appeal, outcome="done")
    [email] = OutboundEmail.objects.filter(template="fulfilment_reported")
    assert zh(DONE_EN["realname_unbind"]) in email.body_text


def test_another_type_gets_the_generic_words_with_its_name(appeal_types, staff):
    appeal_type = appeal_types["realname_unbind"]
    appeal_type.code = "wallet_unbind"
    appeal_type.save()
    appeal = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=appeal, outcome="done")
    [email] = OutboundEmail.objects.filter(template="fulfilment_reported")
    assert f"The platform has carried out your request: {appeal_type.name_en}." in email.body_text


def test_failed_tells_the_appellant_and_alerts_the_assignee_and_supervisors(appeal_types, staff):
    appeal = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="Account locked by risk control.")
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="again")  # a retry: nothing more
    appeal.refresh_from_db()
    assert (appeal.fulfilment, appeal.fulfilment_detail) == ("failed", "Account locked by risk control.")
    [to_appellant] = OutboundEmail.objects.filter(template="fulfilment_reported")
    assert FAILED_EN in to_appellant.body_text and "risk control" not in to_appellant.body_text
    alerts = emails("fulfilment_alert")
    assert sorted(alerts) == ["agent@example.com", "sup1@example.com", "sup2@example.com"]
    assert all(appeal.reference in e.body_text and "risk control" in e.body_text for e in alerts.values())
    assert all("Fulfilment failed" in e.subject for e in alerts.values())
    event = appeal.events.get(kind="fulfilment_failed")
    assert (event.public, event.comment) == (False, "Account locked by risk control.")


def test_failed_in_chinese_for_the_appellant(appeal_types, staff):
    appeal = released(appeal_types, staff, language="zh-hans")
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="locked")
    [email] = OutboundEmail.objects.filter(template="fulfilment_reported")
    assert zh(FAILED_EN) in email.body_text


def test_done_after_failed_is_accepted_and_failed_after_done_is_refused(appeal_types, staff):
    appeal = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="timeout")
    appeal_fulfilment_report(appeal=appeal, outcome="done", detail="retried: unbound")
    appeal.refresh_from_db()
    assert (appeal.fulfilment, appeal.fulfilment_detail) == ("done", "retried: unbound")
    with pytest.raises(WorkflowError):
        appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="late")
    appeal.refresh_from_db()
    assert appeal.fulfilment == "done"


def test_the_reporting_integration_is_named_on_the_timeline(appeal_types, staff):
    from integrations.models import Integration

    appeal = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=appeal, outcome="done", integration=Integration.objects.create(name="PayApp"))
    assert appeal.events.get(kind="fulfilment_done").actor_label == "PayApp"


# Release again.


def test_release_again_by_the_assignee_or_a_supervisor_only(appeal_types, staff):
    appeal = released(appeal_types, staff)
    with pytest.raises(WorkflowError):  # not failed
        appeal_release_again(appeal=appeal, actor=staff["sup1"])
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="timeout")
    with pytest.raises(WorkflowError):
        appeal_release_again(appeal=appeal, actor=staff["agent2"])
    appeal_release_again(appeal=appeal, actor=staff["agent"], comment="Risk control lifted the lock.")
    appeal.refresh_from_db()
    assert (appeal.fulfilment, appeal.fulfilment_release, appeal.fulfilment_reported_at) == ("released", 2, None)
    event = appeal.events.get(kind="release_again")
    assert (event.actor, event.public, event.comment) == (staff["agent"], False, "Risk control lifted the lock.")


# The overdue sweep.


def test_an_overdue_release_alerts_once_and_again_only_after_a_new_release(appeal_types, staff):
    t0 = timezone.now().replace(microsecond=0)
    with time_machine.travel(t0, tick=False):
        appeal = released(appeal_types, staff)
        fresh = released(appeal_types, staff)
        AppealFactory(state="approved")  # never released (not through the services)
    hours = settings.FULFILMENT_OVERDUE_HOURS
    with time_machine.travel(t0 + timedelta(hours=hours) - timedelta(seconds=1), tick=False):
        assert fulfilment_overdue_sweep() == []
    appeal_fulfilment_report(appeal=fresh, outcome="done")
    with time_machine.travel(t0 + timedelta(hours=hours), tick=False):
        assert fulfilment_overdue_sweep() == [appeal.reference]
        assert fulfilment_overdue_sweep() == []
    with time_machine.travel(t0 + timedelta(hours=hours * 3), tick=False):
        assert fulfilment_overdue_sweep() == []
    alerts = emails("fulfilment_alert")
    assert sorted(alerts) == ["agent@example.com", "sup1@example.com", "sup2@example.com"]
    assert all(appeal.reference in e.body_text and fresh.reference not in e.body_text for e in alerts.values())
    assert all("overdue" in e.subject for e in alerts.values())
    event = appeal.events.get(kind="fulfilment_overdue")
    assert event.public is False and str(hours) in event.comment
    appeal.refresh_from_db()
    assert appeal.fulfilment_overdue and appeal.fulfilment_overdue_at is not None

    # Failed, released again: a new release, overdue again in its own time.
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="timeout")
    t1 = t0 + timedelta(hours=hours * 4)
    with time_machine.travel(t1, tick=False):
        appeal_release_again(appeal=appeal, actor=staff["sup1"])
    with time_machine.travel(t1 + timedelta(hours=hours), tick=False):
        assert fulfilment_overdue_sweep() == [appeal.reference]
    assert list(FulfilmentOverdue.objects.filter(appeal=appeal).values_list("release", flat=True)) == [1, 2]


def test_the_beat_runs_the_overdue_sweep_with_limits():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.fulfilment_overdue_sweep" in schedule
    assert "tickets.tasks.fulfilment_overdue_sweep" in settings.CELERY_TASK_TIME_LIMITS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("due_count", [1, 30])
def test_two_overdue_sweeps_at_once_act_once_per_appeal(appeal_types, due_count):
    staff = {"agent": AgentFactory(email="holder@example.com")}
    SupervisorFactory(email="sup@example.com")
    long_ago = timezone.now() - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS + 1)
    with time_machine.travel(long_ago, tick=False):
        appeals = [released(appeal_types, staff) for _ in range(due_count)]
    results = at_once(fulfilment_overdue_sweep)
    assert len(results) == 2
    assert sorted(r for result in results for r in result) == sorted(a.reference for a in appeals)
    assert AppealEvent.objects.filter(kind="fulfilment_overdue").count() == due_count
    assert FulfilmentOverdue.objects.count() == due_count
    for recipient in ("holder@example.com", "sup@example.com"):
        bodies = list(OutboundEmail.objects.filter(to=recipient, template="fulfilment_alert").values_list("body_text", flat=True))
        for appeal in appeals:
            assert sum(appeal.reference in body for body in bodies) == 1


# The appellant's status page.


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_status_page_says_what_became_of_the_approved_request(client, appeal_types, staff, language):
    appeal = released(appeal_types, staff)
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    words = (lambda text: text) if language == "en" else zh
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    page = client.get(url).content.decode()
    assert 'data-fulfilment="released"' in page
    assert (
        words("Your approved request has been passed to the platform to carry out. We will write to you when it is done.") in page
    )
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="internal: risk lock")
    page = client.get(url).content.decode()
    assert words(FAILED_EN) in page and "risk lock" not in page
    appeal_fulfilment_report(appeal=appeal, outcome="done")
    page = client.get(url).content.decode()
    assert 'data-fulfilment="done"' in page and words(DONE_EN["realname_unbind"]) in page
    assert words("Carried out by the platform") in page  # its timeline


def test_the_status_page_of_an_undecided_appeal_says_nothing_of_fulfilment(en_client, appeal_types):
    appeal = AppealFactory(state="in_review")
    page = en_client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)])).content.decode()
    assert "data-fulfilment" not in page


# The console.


def test_the_appeal_page_shows_the_fulfilment_and_release_again_to_those_allowed(en_client, appeal_types, staff):
    appeal = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="Risk control lock <b>")
    url = reverse("desk:appeal", args=[appeal.reference])
    en_client.force_login(staff["agent2"])
    page = en_client.get(url).content.decode()
    assert 'data-fulfilment="failed"' in page and "Risk control lock &lt;b&gt;" in page
    assert 'data-action="release_again"' not in page
    response = en_client.post(reverse("desk:release_again", args=[appeal.reference]), {"comment": "try"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.fulfilment == "failed"

    en_client.force_login(staff["agent"])
    assert 'data-action="release_again"' in en_client.get(url).content.decode()
    response = en_client.post(reverse("desk:release_again", args=[appeal.reference]), {"comment": "Lock lifted."}, follow=True)
    assert "released to the platform again" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.fulfilment == "released"
    assert appeal.events.filter(kind="release_again", actor=staff["agent"]).exists()


def test_the_fulfilment_problems_queue_lists_failed_and_overdue_releases(en_client, appeal_types, staff):
    long_ago = timezone.now() - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS + 2)
    with time_machine.travel(long_ago, tick=False):
        overdue = released(appeal_types, staff)
        carried_out = released(appeal_types, staff)
    failed = released(appeal_types, staff)
    recent = released(appeal_types, staff)
    appeal_fulfilment_report(appeal=failed, outcome="failed", detail="timeout")
    appeal_fulfilment_report(appeal=carried_out, outcome="done")
    AppealFactory(state="in_review")
    en_client.force_login(staff["agent2"])
    page = en_client.get(reverse("desk:queue"), {"queue": "fulfilment"}).content.decode()
    assert "Fulfilment problems" in page
    rows = [a.reference for a in (overdue, failed) if f'data-appeal="{a.reference}"' in page]
    assert rows == [overdue.reference, failed.reference]  # oldest release first
    assert f'data-appeal="{recent.reference}"' not in page and f'data-appeal="{carried_out.reference}"' not in page
    assert 'data-fulfilment="failed"' in page and 'data-fulfilment="overdue"' in page


def test_the_fulfilment_queue_runs_as_many_queries_as_another_queue(client, appeal_types, staff):
    for _ in range(3):
        appeal_fulfilment_report(appeal=released(appeal_types, staff), outcome="failed")
    client.force_login(staff["agent2"])
    client.get(reverse("desk:queue"), {"queue": "decided"})  # warm the caches
    assert queue_query_count(client, "fulfilment") == queue_query_count(client, "decided")


# Metrics.


def test_metrics_count_releases_and_the_median_time_to_carried_out(en_client, appeal_types, staff):
    now = timezone.now().replace(microsecond=0)
    for hours in (2, 4, 9):
        with time_machine.travel(now - timedelta(days=2), tick=False):
            appeal = released(appeal_types, staff)
        with time_machine.travel(now - timedelta(days=2) + timedelta(hours=hours), tick=False):
            appeal_fulfilment_report(appeal=appeal, outcome="done")
    appeal_fulfilment_report(appeal=released(appeal_types, staff), outcome="failed", detail="x")
    with time_machine.travel(now - timedelta(hours=settings.FULFILMENT_OVERDUE_HOURS + 1), tick=False):
        released(appeal_types, staff)
    released(appeal_types, staff)  # released just now: not overdue
    with time_machine.travel(now, tick=False):
        figures = metrics_compute().fulfilment
    assert {k: figures[k] for k in ("released", "done", "failed", "overdue")} == {
        "released": 6,
        "done": 3,
        "failed": 1,
        "overdue": 1,
    }
    assert figures["p50"] == pytest.approx(4.0)
    en_client.force_login(staff["sup1"])
    page = en_client.get(reverse("desk:metrics")).content.decode()
    assert 'data-figures="fulfilment"' in page
    assert "data-fulfilment-released>6<" in page and "data-fulfilment-overdue>1<" in page
    assert "4.0 h" in page
    csv_text = en_client.get(reverse("desk:metrics"), {"format": "csv"}).content.decode()
    assert "fulfilment,done,,,3" in csv_text and "fulfilment,p50,,,4.0" in csv_text


# The diagram.


def test_the_fulfilment_diagram_has_every_transition():
    diagram = fulfilment_mermaid()
    for edge in (
        "not_released --> released: release",
        "released --> done: report_done",
        "released --> failed: report_failed",
        "failed --> done: report_done",
        "failed --> released: release_again",
    ):
        assert edge in diagram


# What the sweep and the queue read.


def test_the_overdue_sweep_and_the_problems_queue_can_read_just_their_partial_indexes(appeal_types, staff):
    """Each statement matches its partial index's predicate, so PostgreSQL may read that index alone (as
    it does on a large table; here sequential scans are switched off for a table too small to need one,
    and the queue's index, which the sweep could use too, is dropped inside the test's transaction)."""
    from tickets.selectors import _queue_filter, fulfilment_overdue_before

    released(appeal_types, staff)
    AppealFactory(state="in_review")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    queue = Appeal.objects.filter(_queue_filter("fulfilment", staff["agent"])).order_by("released_at", "pk")[:51]
    plan = queue.explain()
    assert "Index Scan on appeal_fulfilment_problems" in plan or "using appeal_fulfilment_problems" in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX appeal_fulfilment_problems")
    sweep = (
        Appeal.objects.due_for_fulfilment_overdue(fulfilment_overdue_before())
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("appeal_type", "assignee")[:500]
    )
    plan = sweep.explain()
    assert "Index Scan using appeal_fulfilment_overdue on tickets_appeal" in plan, plan


def test_the_platform_hears_of_each_release_and_each_overdue_fulfilment(appeal_types):
    """`appeal.released` on approval and on "release again", `appeal.fulfilment_overdue` once per overdue
    release: written with the change, for the integration's webhooks and its event feed."""
    platform = Integration.objects.create(name="Wallet")
    agent, supervisor = AgentFactory(), SupervisorFactory()
    appeal = AppealFactory(
        integration=platform, appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=agent
    )
    verify_required_evidence(appeal, by=agent)
    agent_services.appeal_approve(appeal=appeal, actor=supervisor)

    def types():
        return list(IntegrationEvent.objects.filter(appeal=appeal).order_by("id").values_list("type", flat=True))

    assert types() == ["appeal.decided", "appeal.released"]
    released = IntegrationEvent.objects.get(appeal=appeal, type="appeal.released").data
    assert released["fulfilment"] == "released" and released["released_at"]

    appeal_fulfilment_report(appeal=appeal, outcome="failed", detail="Card service down.", integration=platform)
    appeal_release_again(appeal=appeal, actor=agent)
    assert types() == ["appeal.decided", "appeal.released", "appeal.released"]

    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        fulfilment_overdue_sweep()
        fulfilment_overdue_sweep()  # once per release
    assert types() == ["appeal.decided", "appeal.released", "appeal.released", "appeal.fulfilment_overdue"]
    overdue = IntegrationEvent.objects.get(appeal=appeal, type="appeal.fulfilment_overdue")
    assert overdue.integration == platform and overdue.data["reference"] == appeal.reference

"""Learning from outcomes: a supervisor records what a decided appeal turned out to be; a random sample
of approvals waits for their review; the metrics give each risk signal's precision."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory, verify_required_evidence
from tests.tickets.queues import queue_query_count
from tickets.models import Appeal, AppealEvent
from tickets.reports.exports import metrics_csv_rows
from tickets.reports.metrics import metrics_compute
from tickets.services import agent as agent_services
from tickets.services.errors import WorkflowError
from tickets.services.outcome import appeal_outcome_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def staff(db):
    return {"agent": AgentFactory(username="agent"), "sup": SupervisorFactory(username="sup")}


def decided(state="approved", *, signals=(), sampled=False, **fields) -> Appeal:
    appeal = AppealFactory(state=state, **fields)
    Appeal.objects.filter(pk=appeal.pk).update(
        closed_at=timezone.now(),
        review_sampled=sampled,
        risk_signals=[{"kind": kind, "points": 10} for kind in signals],
    )
    return Appeal.objects.get(pk=appeal.pk)


def approve(appeal_types, staff) -> Appeal:
    appeal = AppealFactory(appeal_type=appeal_types["access_card_unbind"], state="in_review", assignee=staff["agent"])
    verify_required_evidence(appeal, by=staff["agent"])
    return agent_services.appeal_approve(appeal=appeal, actor=staff["agent"], comment="Done.")


# The service.


@pytest.mark.parametrize("state", ["approved", "rejected"])
def test_a_supervisor_records_and_changes_the_outcome_with_a_staff_only_event(staff, state):
    appeal = decided(state)
    appeal_outcome_record(appeal=appeal, actor=staff["sup"], outcome="takeover", note="Owner called.")
    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.outcome_by, appeal.outcome_at is not None) == ("takeover", staff["sup"], True)
    appeal_outcome_record(appeal=appeal, actor=staff["sup"], outcome="false_alarm")
    appeal_outcome_record(appeal=appeal, actor=staff["sup"], outcome="false_alarm")  # unchanged: no new event
    appeal.refresh_from_db()
    assert appeal.outcome == "false_alarm"
    events = list(appeal.events.filter(kind=AppealEvent.Kind.OUTCOME).values_list("comment", "public", "actor"))
    assert events == [
        ("Confirmed takeover attempt: Owner called.", False, staff["sup"].pk),
        ("False alarm", False, staff["sup"].pk),
    ]


def test_only_a_supervisor_may_record_an_outcome(staff):
    appeal = decided()
    with pytest.raises(WorkflowError, match="Only a supervisor"):
        appeal_outcome_record(appeal=appeal, actor=staff["agent"], outcome="takeover")
    appeal.refresh_from_db()
    assert appeal.outcome == "" and not appeal.events.filter(kind="outcome").exists()


@pytest.mark.parametrize("state", ["submitted", "in_review", "pending_approval", "withdrawn"])
def test_an_undecided_appeal_takes_no_outcome(staff, state):
    appeal = AppealFactory(state=state)
    with pytest.raises(WorkflowError, match="approved or rejected"):
        appeal_outcome_record(appeal=appeal, actor=staff["sup"], outcome="takeover")


def test_an_unknown_outcome_is_refused(staff):
    with pytest.raises(WorkflowError, match="Choose an outcome"):
        appeal_outcome_record(appeal=decided(), actor=staff["sup"], outcome="maybe")


# The review sample.


def test_every_approval_is_sampled_at_100_percent(settings, appeal_types, staff):
    settings.RISK_REVIEW_SAMPLE_PERCENT = 100
    assert approve(appeal_types, staff).review_sampled is True
    assert Appeal.objects.get(review_sampled=True).state == "approved"


def test_no_approval_is_sampled_at_0_percent(settings, appeal_types, staff):
    settings.RISK_REVIEW_SAMPLE_PERCENT = 0
    for _ in range(3):
        approve(appeal_types, staff)
    assert not Appeal.objects.filter(review_sampled=True).exists()


def test_a_rejection_is_never_sampled(settings, staff, reason_codes):
    settings.RISK_REVIEW_SAMPLE_PERCENT = 100
    appeal = AppealFactory(state="in_review", assignee=staff["agent"])
    agent_services.appeal_reject(appeal=appeal, actor=staff["agent"], reason="Not the owner.", reason_code="ownership_not_shown")
    appeal.refresh_from_db()
    assert (appeal.state, appeal.review_sampled) == ("rejected", False)


def test_the_review_sample_queue_lists_sampled_approvals_until_their_outcome(en_client, staff):
    waiting, reviewed = decided(sampled=True), decided(sampled=True)
    decided()  # not sampled
    appeal_outcome_record(appeal=reviewed, actor=staff["sup"], outcome="false_alarm")
    en_client.force_login(staff["sup"])
    page = en_client.get(reverse("desk:queue"), {"queue": "review_sample"})
    assert "Review sample" in page.content.decode()
    assert [a.reference for a in page.context["page"].rows] == [waiting.reference]
    appeal_outcome_record(appeal=waiting, actor=staff["sup"], outcome="takeover")
    assert en_client.get(reverse("desk:queue"), {"queue": "review_sample"}).context["page"].rows == []


def test_the_review_sample_queue_is_for_supervisors_only(en_client, staff):
    sampled = decided(sampled=True)
    en_client.force_login(staff["agent"])
    page = en_client.get(reverse("desk:queue"), {"queue": "review_sample"})
    assert "Review sample" not in page.content.decode()
    assert sampled.reference not in [a.reference for a in page.context["page"].rows]  # the open queue instead


def test_the_review_sample_queue_runs_as_many_queries_as_the_decided_queue(client, staff):
    for _ in range(3):
        decided(sampled=True)
    client.force_login(staff["sup"])
    client.get(reverse("desk:queue"), {"queue": "decided"})  # warm the caches
    assert queue_query_count(client, "review_sample") == queue_query_count(client, "decided")


# The console form.


def test_a_supervisor_records_the_outcome_on_the_appeal_page(en_client, staff):
    appeal = decided(sampled=True)
    en_client.force_login(staff["sup"])
    url = reverse("desk:appeal", args=[appeal.reference])
    page = en_client.get(url).content.decode()
    assert 'data-action="outcome"' in page and "Drawn for review" in page and "No outcome recorded yet." in page
    response = en_client.post(reverse("desk:outcome", args=[appeal.reference]), {"outcome": "takeover", "note": "Owner"})
    assert response.status_code == 302 and response["Location"].endswith("#outcome")
    page = en_client.get(url).content.decode()
    assert "outcome recorded." in page and 'data-outcome="takeover"' in page and "Confirmed takeover attempt" in page


def test_the_outcome_form_is_not_offered_to_an_agent_nor_on_an_open_appeal(en_client, staff):
    appeal = decided()
    en_client.force_login(staff["agent"])
    assert 'data-action="outcome"' not in en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    response = en_client.post(reverse("desk:outcome", args=[appeal.reference]), {"outcome": "takeover"}, follow=True)
    assert "Only a supervisor" in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.outcome == ""
    en_client.force_login(staff["sup"])
    open_appeal = AppealFactory(state="in_review")
    assert 'data-action="outcome"' not in en_client.get(reverse("desk:appeal", args=[open_appeal.reference])).content.decode()


# The metrics.


def test_metrics_give_each_signals_precision_and_the_approvals_found_wrong(en_client, staff):
    outcomes = [
        ("approved", ("same_photo", "disposable_email"), "takeover", True),
        ("rejected", ("same_photo",), "takeover", False),
        ("rejected", ("same_photo", "disposable_email"), "false_alarm", False),
        ("approved", ("disposable_email",), "false_alarm", True),
    ]
    for state, signals, outcome, sampled in outcomes:
        appeal_outcome_record(appeal=decided(state, signals=signals, sampled=sampled), actor=staff["sup"], outcome=outcome)
    decided(signals=("same_photo",), sampled=True)  # waiting: no outcome, so not in the precision
    figures = metrics_compute().outcomes
    assert {k: figures[k] for k in ("recorded", "takeovers", "approvals_wrong", "sample_reviewed", "sample_waiting")} == {
        "recorded": 4,
        "takeovers": 2,
        "approvals_wrong": 1,
        "sample_reviewed": 2,
        "sample_waiting": 1,
    }
    precision = {row["kind"]: (row["appeals"], row["takeovers"], row["precision"]) for row in figures["signals"]}
    assert precision == {"same_photo": (3, 2, pytest.approx(2 / 3)), "disposable_email": (3, 1, pytest.approx(1 / 3))}
    rows = metrics_csv_rows(metrics_compute())
    assert ["outcomes", "approvals_wrong", "", "", 1] in rows
    assert ["signal_precision", "same_photo", 2, 1, 0.667] in rows
    en_client.force_login(staff["sup"])
    page = en_client.get(reverse("desk:metrics")).content.decode()
    assert "Approvals later found wrong" in page and "<td>Same photo as appeals for other accounts</td>" in page
    assert "67 %" in page and "33 %" in page


def test_the_new_words_are_in_chinese(en_client, staff):
    from django.utils.translation import gettext

    with translation.override("zh-hans"):
        for text in ("Review sample", "Confirmed takeover attempt", "False alarm", "Approvals later found wrong"):
            assert gettext(text) != text

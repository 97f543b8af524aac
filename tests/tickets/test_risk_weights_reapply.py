"""A supervisor changes a signal's points in the admin: the open appeals' stored scores follow, through a
task queued after the change commits; decided appeals keep the score they were decided with."""

from unittest import mock

import pytest
from django.urls import reverse

from tests.tickets.factories import AppealFactory
from tickets.models import Appeal, RiskWeight
from tickets.risk.services import appeal_risk_score, risk_weights_reapply

pytestmark = pytest.mark.django_db


def _scored(**fields) -> Appeal:
    appeal = AppealFactory(contact_email="someone@mailinator.com", **fields)  # disposable e-mail: 20 points
    appeal_risk_score(appeal_id=appeal.pk)
    return Appeal.objects.get(pk=appeal.pk)


def test_the_open_appeals_scores_follow_a_new_weight_and_the_decided_keep_theirs():
    open_appeal, decided = _scored(), _scored(state="approved")
    assert open_appeal.risk_score == decided.risk_score == 20
    RiskWeight.objects.update_or_create(signal="disposable_email", defaults={"weight": 55})

    assert risk_weights_reapply(batch=1) == 1
    open_appeal.refresh_from_db()
    decided.refresh_from_db()
    assert open_appeal.risk_score == 55 and open_appeal.risk_signals[0]["points"] == 55
    assert decided.risk_score == 20
    assert risk_weights_reapply() == 0  # nothing left to change


def test_the_score_stays_capped_at_100():
    appeal = _scored()
    RiskWeight.objects.update_or_create(signal="disposable_email", defaults={"weight": 100})
    Appeal.objects.filter(pk=appeal.pk).update(
        risk_signals=[*appeal.risk_signals, {"kind": "same_ip", "points": 10, "references": [], "count": 3, "detail": ""}]
    )
    risk_weights_reapply()
    appeal.refresh_from_db()
    assert appeal.risk_score == 100
    assert [item["kind"] for item in appeal.risk_signals] == ["disposable_email", "same_ip"]  # most points first


def test_changing_a_weight_in_the_admin_queues_the_recomputation_after_commit(admin_client, django_capture_on_commit_callbacks):
    appeal = _scored()
    weight = RiskWeight.objects.get(signal="disposable_email")
    with (
        mock.patch("tickets.risk.tasks.risk_weights_reapply.delay") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = admin_client.post(
            reverse("admin:tickets_riskweight_change", args=[weight.pk]), {"signal": "disposable_email", "weight": 35}
        )
    assert response.status_code == 302
    queued.assert_called_once_with()
    risk_weights_reapply()  # what the queued task runs
    appeal.refresh_from_db()
    assert appeal.risk_score == 35

"""The other-contact signal: another appeal for the same account, within a year, from a different
contact e-mail — the owner and someone else claiming one account. The same-photo and same-ID-number
signals compare with other accounts only, so an attacker who sends the owner's own leaked photo for
the owner's own account is caught by this one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.tickets.factories import AppealFactory
from tickets.models import Appeal
from tickets.risk.services import appeal_risk_score

pytestmark = pytest.mark.django_db
ACCOUNT = "zhangwei_2018"


def scored(appeal) -> Appeal:
    appeal_risk_score(appeal_id=appeal.pk)
    return Appeal.objects.get(pk=appeal.pk)


def kinds(appeal) -> dict[str, int]:
    return {item["kind"]: item["points"] for item in appeal.risk_signals}


def test_an_appeal_for_an_account_already_claimed_from_another_email_adds_its_points():
    owner = AppealFactory(account_identifier=ACCOUNT, contact_email="zhang.wei@example.com", state="approved")
    other = scored(AppealFactory(account_identifier=ACCOUNT.upper(), contact_email="someone@example.net"))
    assert kinds(other) == {"other_contact": 25}
    signal = other.risk_signals[0]
    assert signal["references"] == [owner.reference] and signal["count"] == 1


def test_the_same_contact_again_an_older_claim_or_another_account_is_no_signal():
    AppealFactory(account_identifier=ACCOUNT, contact_email="zhang.wei@example.com")
    again = scored(AppealFactory(account_identifier=ACCOUNT, contact_email="Zhang.Wei@Example.com"))
    assert kinds(again) == {}
    assert kinds(scored(AppealFactory(account_identifier="another_account", contact_email="x@example.net"))) == {}
    AppealFactory(
        account_identifier="old_account", contact_email="a@example.com", created_at=timezone.now() - timedelta(days=400)
    )
    assert kinds(scored(AppealFactory(account_identifier="old_account", contact_email="b@example.com"))) == {}
    assert kinds(scored(AppealFactory(account_identifier="", contact_email="c@example.com"))) == {}


def test_the_earlier_open_appeal_is_rescored_too():
    first = scored(AppealFactory(account_identifier=ACCOUNT, contact_email="zhang.wei@example.com"))
    assert kinds(first) == {}
    second = scored(AppealFactory(account_identifier=ACCOUNT, contact_email="someone@example.net"))
    first.refresh_from_db()
    assert kinds(first) == {"other_contact": 25}
    assert first.risk_signals[0]["references"] == [second.reference]

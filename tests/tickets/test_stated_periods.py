"""Pages and e-mails state the tracking-link lifetime, the reopen window and the abandon delay from
the settings that enforce them, with plural forms, in English and in Chinese."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.tickets.factories import AppealFactory
from tickets.models import OutboundEmail
from tickets.outbox.services import outbox_enqueue
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

TRACKING = {
    "en": "Follow your appeal here (the link works for 10 days):",
    "zh-hans": "请通过以下链接查看申诉进度（链接 10 天内有效）：",
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("template", ["tracking_link", "acknowledgement"])
def test_emails_give_the_tracking_links_lifetime_from_the_setting(appeal_types, settings, language, template):
    settings.TRACKING_LINK_MAX_AGE_DAYS = 10
    appeal = AppealFactory(language=language)
    email = outbox_enqueue(template=template, to=appeal.contact_email, language=language, context={}, appeal=appeal)
    for body in (email.body_text, email.body_html):
        assert TRACKING[language] in body and "30" not in body


@pytest.mark.parametrize(
    ("setting", "template", "language", "expected"),
    [
        ("ABANDON_AFTER_DAYS", "request_info", "en", "if we hear nothing for 21 days, the appeal is closed."),
        ("ABANDON_AFTER_DAYS", "request_info", "zh-hans", "如果 21 天内未收到您的回复，申诉将被关闭。"),
        ("REOPEN_WINDOW_DAYS", "rejected", "en", "You can reopen the appeal within 21 days with new evidence"),
        ("REOPEN_WINDOW_DAYS", "rejected", "zh-hans", "您可以在 21 天内提交新的证明材料，重新开启申诉"),
    ],
)
def test_emails_give_the_abandon_delay_and_the_reopen_window_from_the_settings(
    appeal_types, settings, setting, template, language, expected
):
    setattr(settings, setting, 21)
    appeal = AppealFactory(language=language)
    email = outbox_enqueue(template=template, to=appeal.contact_email, language=language, context={}, appeal=appeal)
    assert expected in email.body_text and expected in email.body_html


def test_one_day_is_singular(appeal_types, settings):
    settings.REOPEN_WINDOW_DAYS = 1
    appeal = AppealFactory()
    email = outbox_enqueue(template="rejected", to=appeal.contact_email, language="en", context={}, appeal=appeal)
    assert "You can reopen the appeal within 1 day with new evidence" in email.body_text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "heard nothing for 21 days, so we closed it."),
        ("zh-hans", "但 21 天内未收到您的回复，因此已关闭该申诉。"),
    ],
)
def test_the_abandoned_email_counts_the_days_it_waited(appeal_types, settings, language, expected):
    from tickets.services import scheduled

    appeal = AppealFactory(language=language, state="awaiting_info", sla_paused_at=timezone.now() - timedelta(days=22))
    scheduled.appeal_abandon_stale(days=21)
    email = OutboundEmail.objects.get(appeal=appeal, template="abandoned")
    assert expected in email.body_text.replace("\n", "")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "we have sent a link to its status page to that address. The link works for 10 days."),
        ("zh-hans", "链接 10 天内有效。"),
    ],
)
def test_the_track_answer_gives_the_links_lifetime_from_the_setting(client, appeal_types, settings, language, expected):
    settings.TRACKING_LINK_MAX_AGE_DAYS = 10
    response = client.post(
        reverse("tickets:track"), {"reference": "AP-XXXX-XXXX", "email": "nobody@example.com"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert expected in response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Tracking links work for 10 days."), ("zh-hans", "查询链接的有效期为 10 天。")],
)
def test_an_expired_link_page_gives_the_links_lifetime_from_the_setting(client, appeal_types, settings, language, expected):
    settings.TRACKING_LINK_MAX_AGE_DAYS = 10
    appeal = AppealFactory()
    with time_machine.travel(timezone.now() - timedelta(days=11)):
        token = tracking_token_make(appeal.reference)
    response = client.get(reverse("tickets:status", args=[token]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 410 and expected in response.content.decode()


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "You can reopen a rejected appeal within 10 days."), ("zh-hans", "被驳回的申诉可在 10 天内重新开启。")],
)
def test_the_status_page_gives_the_reopen_window_from_the_setting_and_enforces_it(
    client, appeal_types, settings, language, expected
):
    settings.REOPEN_WINDOW_DAYS = 10
    appeal = AppealFactory(language=language, state="rejected", closed_at=timezone.now() - timedelta(days=9))
    html = client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)]), HTTP_ACCEPT_LANGUAGE=language)
    html = html.content.decode()
    assert expected in html  # shown only while the appeal can be reopened (9 of 10 days)
    appeal.closed_at = timezone.now() - timedelta(days=11)
    appeal.save(update_fields=["closed_at"])
    html = client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)]), HTTP_ACCEPT_LANGUAGE=language)
    assert expected not in html.content.decode()

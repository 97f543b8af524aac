"""Every free-text field has a limit that the page shows and the server enforces."""

import pytest
from django.urls import reverse

from tests import files
from tests.tickets.factories import AgentFactory, AppealFactory, submission
from tests.tickets.test_appeal_submit import assert_nothing_stored, post_appeal
from tickets.models import Appeal, AppealEvent, RechargeRecord
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db

LETTER_FIELDS = ("letter_background", "letter_steps_taken", "letter_request")


def test_the_appeal_form_shows_the_limit_of_each_text_field(en_client, appeal_types):
    html = en_client.get(reverse("tickets:new", args=["account_recovery"])).content.decode()
    for name in LETTER_FIELDS:
        assert 'maxlength="5000"' in html.split(f'name="{name}"', 1)[1].split(">", 1)[0]
    assert html.count("Up to 5,000 characters.") == 3
    for name, limit in (
        ("contact_email", 254),
        ("contact_phone", 32),
        ("account_identifier", 150),
        ("registered_phone", 32),
        ("id_number", 40),
        ("recharge-0-order_number", 64),
        ("device-0-location", 100),
    ):
        assert f'maxlength="{limit}"' in html.split(f'name="{name}"', 1)[1].split(">", 1)[0], name


def test_the_appeal_form_shows_the_limit_in_chinese(client, appeal_types):
    html = client.get(reverse("tickets:new", args=["account_recovery"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert html.count("最多 5000 个字符。") == 3


@pytest.mark.parametrize("field", LETTER_FIELDS)
def test_a_letter_part_over_5000_characters_is_refused(client, appeal_types, evidence_root, field):
    appeal_type = appeal_types["realname_unbind"]
    response = post_appeal(client, appeal_type, submission(appeal_type, **{field: "字" * 5001}))
    assert response.status_code == 400
    assert response.context["form"].appeal.errors[field] == ["Ensure this value has at most 5000 characters (it has 5001)."]
    assert "Ensure this value has at most 5000 characters (it has 5001)." in response.content.decode()
    assert_nothing_stored(evidence_root)


def test_a_5_mb_letter_is_refused_next_to_its_field(client, appeal_types, evidence_root):
    appeal_type = appeal_types["realname_unbind"]
    letter = "x" * 5_000_000  # under DATA_UPLOAD_MAX_MEMORY_SIZE (5 MiB): it reaches the form
    response = post_appeal(client, appeal_type, submission(appeal_type, letter_background=letter), HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]["letter_background"] == ["Ensure this value has at most 5000 characters (it has 5000000)."]
    assert_nothing_stored(evidence_root)


def test_a_letter_of_exactly_5000_characters_is_accepted(client, appeal_types):
    appeal_type = appeal_types["realname_unbind"]
    assert post_appeal(client, appeal_type, submission(appeal_type, letter_request="字" * 5000)).status_code == 302
    assert len(Appeal.objects.get().letter_request) == 5000


def test_a_record_csv_cell_over_its_column_limit_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    text = "order_number,amount,currency,paid_at,product\n" + f"TX-1,5,CNY,2026-10-01 10:00,{'p' * 121}\n"
    data = submission(appeal_type, recharge_csv=files.upload("r.csv", text.encode(), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    assert response.context["form"].uploads.errors["recharge_csv"] == [
        "Row 2, Product: Ensure this value has at most 120 characters (it has 121)."
    ]
    assert_nothing_stored(evidence_root)
    assert RechargeRecord.objects.count() == 0


def test_a_record_csv_cell_too_large_to_read_is_refused(client, appeal_types, evidence_root):
    appeal_type = appeal_types["account_recovery"]
    text = "order_number,amount,currency,paid_at,product\n" + f'TX-1,5,CNY,2026-10-01 10:00,"{"p" * 200_000}"\n'
    data = submission(appeal_type, recharge_csv=files.upload("r.csv", text.encode(), "text/csv"))
    response = post_appeal(client, appeal_type, data)
    assert response.status_code == 400
    (error,) = response.context["form"].uploads.errors["recharge_csv"]
    assert error.startswith("The CSV file could not be read")
    assert_nothing_stored(evidence_root)


def test_the_withdraw_comment_shows_and_enforces_its_limit(en_client, appeal_types):
    appeal = AppealFactory()
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    html = en_client.get(url).content.decode()
    assert 'maxlength="1000"' in html.split('name="comment"', 1)[1].split(">", 1)[0]
    assert "Up to 1,000 characters." in html
    response = en_client.post(url, {"action": "withdraw", "confirm": "on", "comment": "x" * 1001})
    assert response.status_code == 400
    assert "Ensure this value has at most 1000 characters (it has 1001)." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "submitted"
    assert not AppealEvent.objects.filter(appeal=appeal, kind="withdraw").exists()


def test_the_console_text_boxes_carry_their_limit_and_a_longer_note_is_not_stored(en_client, appeal_types):
    agent = AgentFactory()
    appeal = AppealFactory(state="in_review", assignee=agent)
    en_client.force_login(agent)
    html = en_client.get(reverse("desk:appeal", args=[appeal.reference])).content.decode()
    textareas = [chunk.split(">", 1)[0] for chunk in html.split("<textarea")[1:]]
    assert textareas and all('maxlength="5000"' in attrs for attrs in textareas)

    before = AppealEvent.objects.filter(appeal=appeal).count()
    limit_message = "Ensure this value has at most 5000 characters (it has 5001)."
    response = en_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "x" * 5001}, follow=True)
    assert limit_message in [str(m) for m in response.context["messages"]]
    response = en_client.post(
        reverse("desk:act", args=[appeal.reference]),
        {"action": "reject", "expected_state": "in_review", "comment": "x" * 5001},
        follow=True,
    )
    assert limit_message in [str(m) for m in response.context["messages"]]
    appeal.refresh_from_db()
    assert appeal.state == "in_review"
    assert AppealEvent.objects.filter(appeal=appeal).count() == before

    en_client.post(reverse("desk:comment", args=[appeal.reference]), {"text": "y" * 5000})
    assert AppealEvent.objects.get(appeal=appeal, kind="note").comment == "y" * 5000


def test_the_track_form_bounds_its_fields(en_client, appeal_types):
    html = en_client.get(reverse("tickets:track")).content.decode()
    assert 'maxlength="20"' in html.split('name="reference"', 1)[1].split(">", 1)[0]
    assert 'maxlength="320"' in html.split('name="email"', 1)[1].split(">", 1)[0]
    response = en_client.post(reverse("tickets:track"), {"reference": "A" * 5000, "email": "x@example.com"})
    assert response.status_code == 400
    assert "Ensure this value has at most 20 characters (it has 5000)." in response.content.decode()


def test_the_answer_on_the_status_page_shows_and_enforces_its_limit(en_client, appeal_types):
    appeal = AppealFactory(state="awaiting_info")
    url = reverse("tickets:status", args=[tracking_token_make(appeal.reference)])
    html = en_client.get(url).content.decode()
    assert 'maxlength="5000"' in html.split('name="message"', 1)[1].split(">", 1)[0]
    assert "Up to 5,000 characters." in html.split('name="message"', 1)[1]
    response = en_client.post(url, {"action": "provide_info", "message": "x" * 5001, "kind": "other"})
    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5001)." in response.content.decode()
    appeal.refresh_from_db()
    assert appeal.state == "awaiting_info"
    assert not AppealEvent.objects.filter(appeal=appeal, kind="provide_info").exists()

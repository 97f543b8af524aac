"""The legal hold: placed and lifted through `appeal_legal_hold_set` (by the Django admin too), recorded
on the console's timeline with who did it, and never shown to the appellant."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from tests.tickets.factories import AgentFactory, AppealFactory, SupervisorFactory
from tests.tickets.test_admin import change_form_data
from tickets.models import AppealEvent
from tickets.services.errors import WorkflowError
from tickets.services.legal_hold import appeal_legal_hold_set
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator():
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-0123456789")


def hold_events(appeal):
    return list(AppealEvent.objects.filter(appeal=appeal, kind=AppealEvent.Kind.LEGAL_HOLD))


def test_placing_and_lifting_a_hold_is_recorded_with_its_actor(appeal_types, administrator):
    appeal = AppealFactory()
    with translation.override("en"):
        appeal_legal_hold_set(appeal=appeal, actor=administrator, on=True, reason="Court order 2026-11")
        appeal.refresh_from_db()
        assert (appeal.legal_hold, appeal.legal_hold_reason) == (True, "Court order 2026-11")
        appeal_legal_hold_set(appeal=appeal, actor=administrator, on=False, reason="Case closed by the court")
    appeal.refresh_from_db()
    assert (appeal.legal_hold, appeal.legal_hold_reason) == (False, "")
    placed, lifted = hold_events(appeal)
    assert (placed.actor, placed.public, placed.comment) == (administrator, False, "Placed under legal hold: Court order 2026-11")
    assert (lifted.actor, lifted.public, lifted.comment) == (administrator, False, "Legal hold lifted: Case closed by the court")


def test_setting_the_hold_it_already_has_writes_nothing(appeal_types, administrator):
    appeal = AppealFactory()
    appeal_legal_hold_set(appeal=appeal, actor=administrator, on=False)
    appeal_legal_hold_set(appeal=appeal, actor=administrator, on=True, reason="Court order")
    appeal_legal_hold_set(appeal=appeal, actor=administrator, on=True, reason="Court order")
    assert len(hold_events(appeal)) == 1


def test_an_agent_cannot_set_a_hold(appeal_types):
    appeal = AppealFactory()
    with pytest.raises(WorkflowError):
        appeal_legal_hold_set(appeal=appeal, actor=AgentFactory(), on=True, reason="Because")
    appeal.refresh_from_db()
    assert not appeal.legal_hold and hold_events(appeal) == []


def test_the_console_timeline_shows_the_hold_and_the_status_page_does_not(client, appeal_types, administrator):
    appeal = AppealFactory()
    with translation.override("en"):
        appeal_legal_hold_set(appeal=appeal, actor=administrator, on=True, reason="Court order 2026-11")
    status = client.get(reverse("tickets:status", args=[tracking_token_make(appeal.reference)]), HTTP_ACCEPT_LANGUAGE="en")
    assert status.status_code == 200
    assert "legal hold" not in status.content.decode().lower() and "Court order" not in status.content.decode()
    client.force_login(SupervisorFactory())
    html = client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    item = html[html.index('data-event="legal_hold"') :]
    item = item[: item.index("</li>")]
    assert "<strong>Legal hold</strong>" in item and "root" in item and "internal" in item
    assert "Placed under legal hold: Court order 2026-11" in item


def test_the_admin_sets_the_hold_through_the_service(admin_client, appeal_types):
    appeal = AppealFactory()
    url = reverse("admin:tickets_appeal_change", args=[appeal.pk])
    data = change_form_data(admin_client.get(url))
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    placed = data | {"legal_hold": "on", "legal_hold_reason": "Court order 2026-11"}
    assert admin_client.post(url, placed).status_code == 302
    assert admin_client.post(url, placed).status_code == 302  # saved again unchanged: nothing new
    (event,) = hold_events(appeal)
    assert event.actor.username == "admin" and event.comment == "Placed under legal hold: Court order 2026-11"
    # Lifted by unticking the box: the reason left in the field is the hold's, not the lifting's.
    assert admin_client.post(url, data | {"legal_hold_reason": "Court order 2026-11"}).status_code == 302
    appeal.refresh_from_db()
    assert (appeal.legal_hold, appeal.legal_hold_reason) == (False, "")
    assert [e.comment for e in hold_events(appeal)] == ["Placed under legal hold: Court order 2026-11", "Legal hold lifted."]


def test_the_admin_does_not_write_the_hold_itself(admin_client, appeal_types, monkeypatch):
    from tickets import admin as tickets_admin

    calls = []
    monkeypatch.setattr(tickets_admin, "appeal_legal_hold_set", lambda **kwargs: calls.append(kwargs))
    appeal = AppealFactory()
    url = reverse("admin:tickets_appeal_change", args=[appeal.pk])
    data = change_form_data(admin_client.get(url)) | {"legal_hold": "on", "legal_hold_reason": "Court order"}
    assert admin_client.post(url, data).status_code == 302
    appeal.refresh_from_db()
    assert not appeal.legal_hold  # the (stubbed) service is the only writer
    assert [(c["on"], c["reason"], c["actor"].username) for c in calls] == [(True, "Court order", "admin")]


def test_outbox_rows_are_view_only_in_the_admin(admin_client, appeal_types):
    from tickets.models import OutboundEmail

    email = OutboundEmail.objects.create(appeal=AppealFactory(), template="reply", to="a@example.com", subject="Hello")
    url = reverse("admin:tickets_outboundemail_change", args=[email.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"to": "b@example.com"}).status_code == 403
    email.refresh_from_db()
    assert email.to == "a@example.com"

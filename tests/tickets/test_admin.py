"""Django admin: appeal types are editable; appeals are read-only."""

import pytest
from django.urls import reverse

from tests.tickets.factories import AppealFactory

pytestmark = pytest.mark.django_db


def test_admin_edits_an_appeal_type(admin_client, appeal_types):
    appeal_type = appeal_types["emergency_freeze"]
    url = reverse("admin:tickets_appealtype_change", args=[appeal_type.pk])
    assert admin_client.get(url).status_code == 200
    data = {
        "code": appeal_type.code,
        "name_zh_hans": appeal_type.name_zh_hans,
        "name_en": "Emergency freeze",
        "self_help_zh_hans": appeal_type.self_help_zh_hans,
        "self_help_en": appeal_type.self_help_en,
        "required_evidence": "[]",
        "required_fields": '["registered_phone"]',
        "id_number_rule": "last4",
        "min_recharge_records": 0,
        "min_device_records": 0,
        "sla_hours": 3,
        "risk": "urgent",
        "position": 0,
        "is_active": "on",
    }
    assert admin_client.post(url, data).status_code == 302
    appeal_type.refresh_from_db()
    assert (appeal_type.sla_hours, appeal_type.name_en) == (3, "Emergency freeze")


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("required_evidence", '["id_front", "passport_scan"]', "passport_scan"),
        ("required_fields", '["account_identifier", "wechat_id"]', "wechat_id"),
        ("required_evidence", '"id_front"', "id_front"),
    ],
)
def test_admin_refuses_an_unknown_evidence_kind_or_field_and_names_it(admin_client, appeal_types, field, value, named):
    """An unknown code would reach the form and the console as a raw code that no appellant can meet."""
    appeal_type = appeal_types["realname_unbind"]
    url = reverse("admin:tickets_appealtype_change", args=[appeal_type.pk])
    data = {
        "code": appeal_type.code,
        "name_zh_hans": appeal_type.name_zh_hans,
        "name_en": appeal_type.name_en,
        "required_evidence": '["id_front"]',
        "required_fields": "[]",
        "id_number_rule": appeal_type.id_number_rule,
        "min_recharge_records": 0,
        "min_device_records": 0,
        "sla_hours": 72,
        "risk": appeal_type.risk,
        "position": 0,
        "is_active": "on",
        field: value,
    }
    response = admin_client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert named in str(response.context["adminform"].form.errors[field])
    before = appeal_type.required_evidence, appeal_type.required_fields
    appeal_type.refresh_from_db()
    assert (appeal_type.required_evidence, appeal_type.required_fields) == before


def change_form_data(response) -> dict:
    """What the admin change form would post back unchanged: the inline formsets' management data."""
    data = {}
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for index, form in enumerate(formset.forms):
            data[f"{formset.prefix}-{index}-id"] = form.instance.pk
            data[f"{formset.prefix}-{index}-appeal"] = form.instance.appeal_id
    return data


def test_admin_shows_appeals_read_only_except_the_legal_hold(admin_client, appeal_types):
    appeal = AppealFactory()
    url = reverse("admin:tickets_appeal_change", args=[appeal.pk])
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "**************002X" in html
    assert 'name="legal_hold"' in html and 'name="contact_email"' not in html and 'name="state"' not in html
    data = change_form_data(response) | {
        "legal_hold": "on",
        "legal_hold_reason": "Court order 2026-11",
        "contact_email": "evil@example.com",
        "state": "approved",
    }
    assert admin_client.post(url, data).status_code == 302
    appeal.refresh_from_db()
    assert (appeal.legal_hold, appeal.legal_hold_reason) == (True, "Court order 2026-11")
    assert appeal.contact_email != "evil@example.com" and appeal.state == "submitted"
    assert admin_client.get(reverse("admin:tickets_appeal_add")).status_code == 403


def test_admin_sets_an_agents_profile_and_their_free_places_are_filled(
    admin_client, appeal_types, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Automatic assignment's per-agent settings: the admin saves through the service, which queues the
    filling of an on-duty agent's places after commit."""
    from tests.tickets.factories import AgentFactory
    from tickets.assignment import tasks
    from tickets.models import AgentProfile

    settings.ASSIGNMENT_AUTOMATIC = True
    queued = []
    monkeypatch.setattr(tasks.assignment_run, "delay", lambda appeal_ids, agent_ids: queued.append((appeal_ids, agent_ids)))
    agent = AgentFactory(username="ana")
    data = {
        "user": agent.pk,
        "on_duty": "on",
        "capacity": 7,
        "appeal_types": [appeal_types["emergency_freeze"].pk],
        "languages": ["en"],
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:tickets_agentprofile_add"), data)
    assert response.status_code == 302
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.capacity, profile.languages, [t.code for t in profile.appeal_types.all()]) == (
        7,
        ["en"],
        ["emergency_freeze"],
    )
    assert queued == [([], [agent.pk])]
    assert admin_client.get(reverse("admin:tickets_agentprofile_changelist")).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("capacity", 5000, "Ensure this value is less than or equal to 1000."),
        ("capacity", -1, "Ensure this value is greater than or equal to 0."),
        ("languages", ["fr"], "Select a valid choice. fr is not one of the available choices."),
    ],
)
def test_admin_refuses_a_bad_agent_profile_and_stores_nothing(admin_client, appeal_types, field, value, message):
    from tests.tickets.factories import AgentFactory
    from tickets.models import AgentProfile

    data = {"user": AgentFactory().pk, "on_duty": "on", "capacity": 10, field: value}
    response = admin_client.post(reverse("admin:tickets_agentprofile_add"), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AgentProfile.objects.exists()

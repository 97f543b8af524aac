"""`manage.py seed_demo`: idempotent demo data for a first run."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from tickets.models import Appeal, AppealType

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_types_groups_and_users_and_can_run_twice(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert set(AppealType.objects.values_list("code", flat=True)) == {
        "realname_unbind",
        "phone_rebind",
        "access_card_unbind",
        "account_recovery",
        "emergency_freeze",
    }
    assert set(Group.objects.values_list("name", flat=True)) >= {"agents", "supervisors"}
    users = get_user_model().objects
    assert users.count() == 3
    assert users.get(username="agent").check_password("agent-demo-2026")
    assert users.get(username="supervisor").groups.filter(name="supervisors").exists()
    assert users.get(username="admin").is_superuser
    assert "agent-demo-2026" in out
    assert "demo appeals: 12 created" in out and "demo appeals: already there" in out
    states = set(Appeal.objects.values_list("state", flat=True))
    assert states == {
        "submitted",
        "in_review",
        "awaiting_info",
        "pending_approval",
        "escalated",
        "approved",
        "rejected",
        "withdrawn",
    }
    assert Appeal.objects.count() == 12
    assert Appeal.objects.filter(cooling_off_of__isnull=False).count() == 1
    # The approved one was released, and the platform could not carry it out (the console's "Fulfilment problems").
    assert list(Appeal.objects.filter(state="approved").values_list("fulfilment", flat=True)) == ["failed"]
    assert all(a.events.exists() for a in Appeal.objects.all())


def test_a_new_database_says_the_migrations_seeded_the_appeal_types(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "appeal types: 5 (seeded by the migrations)" in out
    assert "0 created" not in out
    assert "  agent       agent-demo-2026\n" in out  # a new user: its login, nothing more


def test_a_second_run_leaves_existing_demo_users_exactly_as_they_are(settings, capsys, client):
    settings.DEBUG = True
    call_command("seed_demo")
    capsys.readouterr()
    users = get_user_model().objects
    agent = users.get(username="agent")
    agent.set_password("my-own-passphrase-42")
    agent.first_name = "Li"
    agent.save()
    agent.groups.add(Group.objects.get(name="supervisors"))
    supervisors = Group.objects.get(name="supervisors")
    supervisors.permissions.clear()
    client.force_login(agent)
    assert client.get(reverse("desk:queue")).status_code == 200  # signed in

    call_command("seed_demo")  # what `make run` does on every start
    out = capsys.readouterr().out

    agent.refresh_from_db()
    assert agent.check_password("my-own-passphrase-42") and agent.first_name == "Li"
    assert set(agent.groups.values_list("name", flat=True)) == {"agents", "supervisors"}
    assert not supervisors.permissions.exists()
    assert client.get(reverse("desk:queue")).status_code == 200  # still signed in: the session survived
    for username in ("agent", "supervisor", "admin"):
        line = next(line for line in out.splitlines() if line.strip().startswith(username + " "))
        assert "password unchanged" in line
    assert "appeal types: 5 (seeded by the migrations)" in out


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="development only"):
        call_command("seed_demo")
    assert get_user_model().objects.count() == 0


def test_seeded_types_match_the_spec(appeal_types):
    emergency = appeal_types["emergency_freeze"]
    assert (emergency.sla_hours, emergency.risk, emergency.id_number_rule) == (2, "urgent", "last4")
    recovery = appeal_types["account_recovery"]
    assert recovery.required_evidence == ["id_front", "id_back", "id_handheld"]
    assert (recovery.min_recharge_records, recovery.min_device_records) == (1, 1)
    assert appeal_types["phone_rebind"].required_evidence == ["id_front", "id_back", "carrier_certificate"]
    assert all(t.sla_hours == 72 for code, t in appeal_types.items() if code != "emergency_freeze")
    assert all(t.self_help_zh_hans and t.self_help_en for t in appeal_types.values())

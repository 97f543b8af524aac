"""`evidence_access_record`: every file served is logged as one access row, and opening a file (or its
page viewer) as one event on the appeal's timeline; the view writes only through it."""

import pytest
from django.urls import reverse

from evidence import views
from evidence.models import EvidenceAccess
from evidence.services import evidence_access_record
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.models import AppealEvent
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(appeal_types):
    return EvidenceFactory(appeal=AppealFactory(), kind="id_front")


def viewed(evidence):
    return list(AppealEvent.objects.filter(appeal=evidence.appeal, kind=AppealEvent.Kind.EVIDENCE_VIEWED))


def test_a_staff_opening_is_one_access_row_and_one_event(evidence):
    agent = AgentFactory()
    access = evidence_access_record(evidence=evidence, user=agent, by_appellant=False, ip="10.0.0.7")
    assert (access.user, access.by_appellant, access.ip_address, access.thumbnail, access.page) == (
        agent,
        False,
        "10.0.0.7",
        False,
        None,
    )
    (event,) = viewed(evidence)
    assert (event.actor, event.actor_label, event.public) == (agent, "", False)
    assert event.comment == f"{evidence.get_kind_display()}: id_front.jpg"


def test_the_appellants_opening_is_recorded_as_the_appellants(evidence):
    evidence_access_record(evidence=evidence, user=None, by_appellant=True, ip=None)
    assert EvidenceAccess.objects.get().by_appellant
    (event,) = viewed(evidence)
    assert (event.actor, event.actor_label) == (None, "appellant")


def test_thumbnails_and_later_pages_are_logged_but_not_put_on_the_timeline(evidence):
    agent = AgentFactory()
    evidence_access_record(evidence=evidence, user=agent, by_appellant=False, ip=None, thumbnail=True)
    evidence_access_record(evidence=evidence, user=agent, by_appellant=False, ip=None, page=2)
    assert viewed(evidence) == []
    evidence_access_record(evidence=evidence, user=agent, by_appellant=False, ip=None, page=1)  # the viewer opened
    assert EvidenceAccess.objects.count() == 3 and len(viewed(evidence)) == 1


def test_the_view_writes_through_the_service_once_per_request(client, evidence, monkeypatch):
    calls = []

    def recording(**kwargs):
        calls.append(kwargs)
        return evidence_access_record(**kwargs)

    monkeypatch.setattr(views, "evidence_access_record", recording)
    assert client.get(reverse("tickets:status", args=[tracking_token_make(evidence.appeal.reference)])).status_code == 200
    for _opening in range(2):
        assert client.get(reverse("evidence:serve", args=[evidence.pk])).status_code == 200
    assert [(c["user"], c["by_appellant"], c["ip"], c["thumbnail"], c["page"]) for c in calls] == [
        (None, True, "127.0.0.1", False, None),
        (None, True, "127.0.0.1", False, None),
    ]
    assert EvidenceAccess.objects.count() == 2 and len(viewed(evidence)) == 2

"""The console shows words, not stored codes: a file's type, a missing evidence kind."""

import pytest
from django.urls import reverse

from evidence.models import Evidence
from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory
from tickets.labels import FILE_TYPE_LABELS
from tickets.models import EvidenceKind, evidence_kind_label

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db):
    return AgentFactory()


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_a_processed_csv_file_is_offered_as_a_csv_table_not_as_its_content_type(agent_client, agent, appeal_types, evidence_root):
    # The agent holds the appeal: they see its files (need-to-know, evidence/access.py).
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"], state="in_review", assignee=agent)
    EvidenceFactory(
        appeal=appeal,
        kind="recharge_record",
        original_name="records.csv",
        content_type="text/csv",
        content=b"order_number,amount\n1,2\n",
        status=Evidence.Status.READY,
    )
    html = agent_client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Open file (CSV table)" in html
    assert "text/csv" not in html


def test_every_file_type_we_accept_has_a_label():
    from evidence.validation import CSV_TYPE, IMAGE_TYPES, PDF_TYPE

    assert {*IMAGE_TYPES, PDF_TYPE, CSV_TYPE} <= set(FILE_TYPE_LABELS)


def test_a_missing_evidence_kind_is_named_by_its_label(agent_client, appeal_types):
    appeal = AppealFactory(appeal_type=appeal_types["realname_unbind"])
    html = agent_client.get(reverse("desk:appeal", args=[appeal.reference]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Missing: ID card, front, ID card, back, Photo of you holding the ID card</p>" in html
    assert "id_front" not in html.split("Missing:")[1].split("</p>")[0]


def test_a_kind_no_longer_known_says_so_instead_of_passing_for_a_label():
    assert evidence_kind_label("id_front") == str(EvidenceKind.ID_FRONT.label)
    assert evidence_kind_label("passport_scan") == "unknown evidence kind “passport_scan”"

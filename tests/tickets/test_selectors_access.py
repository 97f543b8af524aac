"""Reads that check access (tickets/selectors.py): what an outsider gets (404, as for a reference that
does not exist), and what the console's actions cost in queries, now that they fetch through them."""

import pytest
from django.http import Http404
from django.urls import reverse

from tests.evidence.factories import EvidenceFactory
from tests.tickets.factories import AgentFactory, AppealFactory, UserFactory
from tickets.canned_replies import canned_replies_for
from tickets.selectors import (
    access_appeal,
    access_appeal_list,
    access_evidence,
    appeal_for_submitter,
    appeal_for_tracking_token,
    appeal_type_get_active,
)
from tickets.tracking import tracking_token_make

pytestmark = pytest.mark.django_db


def test_access_appeal_is_404_for_a_non_agent_and_for_an_unknown_reference(appeal_types):
    appeal = AppealFactory()
    with pytest.raises(Http404):
        access_appeal(user=UserFactory(), reference=appeal.reference, with_page=False)
    with pytest.raises(Http404):
        access_appeal(user=AgentFactory(), reference="AP-NOPE-NOPE", with_page=False)
    assert access_appeal(user=AgentFactory(), reference=appeal.reference, with_page=False) == appeal


def test_access_appeal_without_the_page_reads_one_row(appeal_types, django_assert_num_queries):
    appeal = AppealFactory()
    agent = AgentFactory()
    access_appeal(user=agent, reference=appeal.reference)  # the agent's groups, read once per user
    with django_assert_num_queries(1):
        access_appeal(user=agent, reference=appeal.reference, with_page=False)


def test_access_evidence_is_404_for_a_file_of_another_appeal_and_for_a_non_agent(appeal_types):
    appeal, other = AppealFactory(), AppealFactory()
    evidence = EvidenceFactory(appeal=appeal)
    agent = AgentFactory()
    assert access_evidence(user=agent, reference=appeal.reference, evidence_id=evidence.pk) == evidence
    with pytest.raises(Http404):
        access_evidence(user=agent, reference=other.reference, evidence_id=evidence.pk)
    with pytest.raises(Http404):
        access_evidence(user=UserFactory(), reference=appeal.reference, evidence_id=evidence.pk)


def test_access_appeal_list_is_empty_for_a_non_agent(appeal_types):
    appeal = AppealFactory()
    assert list(access_appeal_list(user=UserFactory(), references=[appeal.reference])) == []
    assert list(access_appeal_list(user=AgentFactory(), references=[appeal.reference])) == [appeal]


def test_the_public_pages_selectors_answer_404(appeal_types):
    appeal = AppealFactory()
    with pytest.raises(Http404):
        appeal_for_submitter(submitted=[], reference=appeal.reference)
    with pytest.raises(Http404):
        appeal_for_submitter(submitted=["AP-NOPE-NOPE"], reference="AP-NOPE-NOPE")
    assert appeal_for_submitter(submitted=[appeal.reference], reference=appeal.reference) == appeal
    retired = appeal.appeal_type
    retired.is_active = False
    retired.save()
    with pytest.raises(Http404):
        appeal_type_get_active(code=retired.code)
    found, link = appeal_for_tracking_token(token=tracking_token_make(appeal.reference))
    assert found == appeal and link.reference == appeal.reference and found.public_events == []
    with pytest.raises(Http404):
        appeal_for_tracking_token(token=tracking_token_make("AP-NOPE-NOPE"))


# Queries of each console request, counted before the views fetched through the selectors: none
# grew (the records CSV fetches the row alone now, without the page's evidence and events: 8 -> 6).
# The appeal's page looks up, for an agent who does not hold it, a reason they stated (need-to-know): 11 -> 12.
# Every request reads the session's second-factor device (django-otp, staff two-factor): +1 each.
CONSOLE_QUERIES = {"act": 10, "comment": 9, "verify": 9, "records_csv": 7, "bulk": 10, "appeal": 13}


@pytest.mark.parametrize("route", CONSOLE_QUERIES)
def test_console_requests_cost_no_more_queries_than_before(client, appeal_types, route, django_assert_num_queries):
    client.force_login(AgentFactory())
    appeal = AppealFactory()
    evidence = EvidenceFactory(appeal=appeal)
    client.get(reverse("desk:queue"))  # the appeal types and agents cached, as on a working console
    canned_replies_for(appeal=appeal)  # and the canned replies of the appeal's language
    method, url, body = {
        "act": ("post", reverse("desk:act", args=[appeal.reference]), {"action": "claim", "expected_state": "submitted"}),
        "comment": ("post", reverse("desk:comment", args=[appeal.reference]), {"text": "Checked."}),
        "verify": ("post", reverse("desk:verify", args=[appeal.reference, evidence.pk]), {"verified": "1"}),
        "records_csv": ("get", reverse("desk:records_csv", args=[appeal.reference]), {}),
        "bulk": ("post", reverse("desk:bulk"), {"action": "claim", "references": [appeal.reference]}),
        "appeal": ("get", reverse("desk:appeal", args=[appeal.reference]), {}),
    }[route]
    with django_assert_num_queries(CONSOLE_QUERIES[route]):
        response = getattr(client, method)(url, body)
        if route == "records_csv":
            b"".join(response.streaming_content)
    assert response.status_code in (200, 302)

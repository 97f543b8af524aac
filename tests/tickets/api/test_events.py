"""`GET /api/v1/events/?after=<cursor>&limit=`: the integration's events, keyset-paginated on id."""

import pytest
from django.urls import reverse

from integrations.models import Integration, IntegrationEvent
from tests.tickets.factories import AppealFactory

from .conftest import assert_error

EVENTS = reverse("api:event-list")


def events_for(integration, count: int) -> list[IntegrationEvent]:
    appeal = AppealFactory(integration=integration)
    return [
        IntegrationEvent.objects.create(
            type=IntegrationEvent.Type.SUBMITTED, appeal=appeal, integration=integration, data={"n": n}
        )
        for n in range(count)
    ]


def test_pages_follow_the_cursor_to_the_end_and_only_show_the_integrations_events(api, api_key, integration, appeal_types):
    other = Integration.objects.create(name="Bank")
    mine = events_for(integration, 3)
    events_for(other, 2)
    mine += events_for(integration, 2)

    seen, after, pages = [], None, 0
    while True:
        response = api(api_key).get(EVENTS, {"limit": 2, **({"after": after} if after else {})})
        assert response.status_code == 200
        page = response.json()
        pages += 1
        seen += page["results"]
        after = page["next"]
        if not page["has_more"]:
            break
    assert pages == 3
    assert [event["message_id"] for event in seen] == [event.message_id for event in mine]
    assert seen[0]["type"] == "appeal.submitted"
    assert seen[0]["appeal"] == mine[0].appeal.reference
    assert seen[0]["data"] == {"n": 0}
    # Polling again from the last cursor: nothing new, and the same cursor to keep.
    tail = api(api_key).get(EVENTS, {"after": after}).json()
    assert tail == {"results": [], "next": after, "has_more": False}
    events_for(integration, 1)
    assert len(api(api_key).get(EVENTS, {"after": after}).json()["results"]) == 1


def test_a_page_is_one_bounded_read(api, api_key, integration, appeal_types, django_assert_max_num_queries):
    events_for(integration, 30)
    with django_assert_max_num_queries(3):  # the key (with its integration), the page, the session-free rest
        assert len(api(api_key).get(EVENTS, {"limit": 25}).json()["results"]) == 25


@pytest.mark.parametrize(
    ("params", "field"), [({"after": "abc"}, "after"), ({"limit": "0"}, "limit"), ({"limit": "1000"}, "limit")]
)
def test_a_bad_cursor_or_limit_is_400_naming_it(api, api_key, params, field):
    error = assert_error(api(api_key).get(EVENTS, params), 400, "invalid")
    assert list(error["fields"]) == [field]


def test_a_control_character_in_the_query_is_400_in_the_error_shape(api, api_key):
    assert_error(api(api_key).get(EVENTS + "?after=%00"), 400, "parse_error")

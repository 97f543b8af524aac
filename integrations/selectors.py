"""Reads for the platforms: the events an integration may see, a page after a cursor."""

from django.db.models import F, Q

from .models import Integration, IntegrationEvent


def integration_events_visible(*, integration: Integration) -> Q:
    """The events of the appeals it filed, and of those filed on the public form when it receives them."""
    own = Q(integration=integration)
    if integration.receives_portal_appeals:
        own |= Q(integration__isnull=True)
    return own


def integration_event_page(*, integration: Integration, after: int | None, limit: int) -> tuple[list[IntegrationEvent], bool]:
    """Up to `limit` events after the event id `after`, oldest first, and whether more follow: a keyset
    walk on the primary key (no OFFSET, no COUNT), so every page is one bounded index read."""
    events = (
        IntegrationEvent.objects.filter(integration_events_visible(integration=integration))
        # The reference by a join, not the appeal rows: an Appeal, even deferred, reads its state when built.
        .annotate(appeal_reference=F("appeal__reference"))
        .only("id", "message_id", "type", "data", "created_at")
        .order_by("id")
    )
    if after is not None:
        events = events.filter(id__gt=after)
    rows = list(events[: limit + 1])
    return rows[:limit], len(rows) > limit

"""Helpers for the console's queue tests."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def queue_query_count(client, queue: str) -> int:
    """How many queries one page of `queue` runs for the signed-in client."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("desk:queue"), {"queue": queue}).status_code == 200
    return len(queries)

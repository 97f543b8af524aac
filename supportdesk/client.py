"""The client's address: one function decides it, for rate limits, storage, logs and fraud signals."""

from django.conf import settings


def client_ip(request) -> str | None:
    """Behind the documented proxy, the header it sets (RATELIMIT_IP_META_KEY, e.g. HTTP_X_REAL_IP);
    otherwise the socket's address."""
    key = settings.RATELIMIT_IP_META_KEY
    return (request.META.get(key) if key else None) or request.META.get("REMOTE_ADDR")

"""The client's address: one function decides it, for rate limits, storage, logs and fraud signals."""

from django.conf import settings


def client_ip_from_meta(meta, meta_key: str | None) -> str | None:
    """From a request's META (or a WSGI environ): behind the documented proxy, the header it sets
    (`meta_key`, e.g. HTTP_X_REAL_IP); otherwise the socket's address."""
    return ((meta.get(meta_key) if meta_key else None) or meta.get("REMOTE_ADDR") or "").strip() or None


def client_ip(request) -> str | None:
    """Behind the documented proxy, the header it sets (RATELIMIT_IP_META_KEY, e.g. HTTP_X_REAL_IP);
    otherwise the socket's address."""
    return client_ip_from_meta(request.META, settings.RATELIMIT_IP_META_KEY)


def client_ip_key(group, request) -> str:
    """django-ratelimit's `key=`: count per client address, as decided above."""
    return client_ip(request) or "-"


def axes_client_ip(request) -> str | None:
    """django-axes' AXES_CLIENT_IP_CALLABLE: sign-in throttling counts per client address, as decided above."""
    return client_ip(request)

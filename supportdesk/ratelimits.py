"""Limits that count only some attempts (failed ones), with django-ratelimit's counters: check first
without counting, then count once the outcome is known."""

from django_ratelimit.core import get_usage


def attempts_used_up(request, *, group: str, key, rate) -> bool:
    """Whether the attempts allowed in this window are all used (the next one would exceed the rate).
    A cache that cannot be read counts as used up."""
    usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=False)
    return usage is not None and (usage["should_limit"] or usage["count"] >= usage["limit"])


def attempt_count(request, *, group: str, key, rate) -> None:
    """Count one attempt in this window."""
    get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)

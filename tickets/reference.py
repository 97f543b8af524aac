"""Reference data the console shows on every page (appeal types, the agents), from the cache.

Both change rarely and are read on every queue page. They are kept in the Django cache (Redis) and
dropped whenever they change: an admin edits a type, a user joins or leaves the agents or
supervisors group, is (de)activated or renamed. The admin changes these rows directly, with no
service of ours in between, so model signals are the one place that sees every change. The key is
dropped at once (this process and anyone reading after sees fresh data) and again after the commit
(a request that re-cached the old rows while the change was uncommitted does not keep them)."""

import logging
from dataclasses import dataclass

from asgiref.local import Local
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_delete, post_save
from redis.exceptions import RedisError

from .models import AppealType, ReasonCode
from .roles import AGENTS, SUPERVISORS

logger = logging.getLogger(__name__)

TYPES_KEY = "desk:appeal-types:1"
AGENTS_KEY = "desk:agents:1"
REASONS_KEY = "desk:reason-codes:1"
# A safety net only: every change drops the key itself.
TIMEOUT = 3600


@dataclass(frozen=True)
class Agent:
    pk: int
    username: str

    def get_username(self) -> str:
        return self.username


def agents_queryset():
    """Who the console lists as agents: active members of either group, and superusers."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=[AGENTS, SUPERVISORS]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


# Within one request the view, the filter form and the selector all ask: Redis is read once per
# request and key (a memo that lives from request_started to request_finished, in this thread only).
_request = Local()


def _start_request(**_kwargs) -> None:
    _request.memo = {}


def _end_request(**_kwargs) -> None:
    _request.memo = None


def _cached(key: str, load):
    memo = getattr(_request, "memo", None)
    if memo is not None and key in memo:
        return memo[key]
    try:
        value = cache.get(key)
    except RedisError:  # the console works without its cache
        logger.warning("Reference data cache unavailable: %s read from the database", key)
        value = load()
    if value is None:
        value = load()
        try:
            cache.set(key, value, TIMEOUT)
        except RedisError:
            logger.warning("Reference data cache unavailable: %s not stored", key)
    if memo is not None:
        memo[key] = value
    return value


def appeal_types_cached() -> dict[int, AppealType]:
    """Every appeal type by id, in the admin's order. Names stay per language (`AppealType.name`)."""
    return _cached(TYPES_KEY, lambda: {t.pk: t for t in AppealType.objects.all()})


def agents_cached() -> list[Agent]:
    """The active agents, supervisors and superusers, by username: the console's assignee lists."""
    return _cached(AGENTS_KEY, lambda: [Agent(pk, name) for pk, name in agents_queryset().values_list("pk", "username")])


def reason_codes_active_cached() -> list[ReasonCode]:
    """The active reason codes, in the admin's order: the console's request and rejection forms."""
    return _cached(REASONS_KEY, lambda: list(ReasonCode.objects.filter(is_active=True)))


def _delete(key: str) -> None:
    try:
        cache.delete(key)
    except RedisError:  # an admin's change must not fail on the cache; its timeout bounds staleness
        logger.warning("Reference data cache unavailable: %s not dropped", key)


def _forget(key: str):
    def forget(**_kwargs) -> None:
        memo = getattr(_request, "memo", None)
        if memo:
            memo.pop(key, None)
        _delete(key)
        transaction.on_commit(lambda: _delete(key))

    return forget


_forget_types, _forget_agents, _forget_reasons = _forget(TYPES_KEY), _forget(AGENTS_KEY), _forget(REASONS_KEY)


def _forget_agents_unless_login(update_fields=None, **kwargs) -> None:
    # Signing in saves last_login only: nothing the lists show.
    if update_fields is None or set(update_fields) - {"last_login"}:
        _forget_agents(**kwargs)


def connect_signals() -> None:
    user = get_user_model()
    for model, forget in (
        (AppealType, _forget_types),
        (user, _forget_agents_unless_login),
        (Group, _forget_agents),
        (ReasonCode, _forget_reasons),
    ):
        post_save.connect(forget, sender=model, dispatch_uid=f"reference-{model._meta.label}-save")
        post_delete.connect(forget, sender=model, dispatch_uid=f"reference-{model._meta.label}-delete")
    m2m_changed.connect(_forget_agents, sender=user.groups.through, dispatch_uid="reference-user-groups")
    request_started.connect(_start_request, dispatch_uid="reference-request-started")
    request_finished.connect(_end_request, dispatch_uid="reference-request-finished")

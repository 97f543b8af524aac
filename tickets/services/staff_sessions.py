"""Staff sessions: an idle timeout, an absolute lifetime, and "sign out everywhere".

At sign-in (the `user_logged_in` signal) the session gets its start, its last activity and the user's
session generation. The middleware (supportdesk/middleware.py, StaffSessionMiddleware) asks
`staff_session_check` on every signed-in request: past STAFF_SESSION_IDLE_MINUTES without a request,
past STAFF_SESSION_MAX_HOURS since sign-in, or carrying an older generation than the user's (someone
signed them out everywhere), the session is over. Only signed-in users have these keys: the
appellants' sessions (tracking links, no user) are never looked at.

The generation is read on every signed-in request, so it is kept in the cache (one Redis read, no
query: the console's query budgets stay as they were); a change drops the cached value at once and
again after the commit, like the console's reference data (tickets/reference.py)."""

import contextlib
import logging
import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError

from tickets.events import staff_signed_out_everywhere_event
from tickets.models import StaffSessionGeneration

logger = logging.getLogger(__name__)

STARTED, SEEN, GENERATION = "staff_session_started", "staff_session_seen", "staff_session_generation"
# Why a session ended (the middleware's message names it).
IDLE, LIFETIME, ENDED = "idle", "lifetime", "ended"
# Last activity is written back at most this often (seconds): not a session write on every request.
SEEN_RESOLUTION = 60
# A safety net only: every change drops the key itself.
CACHE_TIMEOUT = 300


def _cache_key(user_id) -> str:
    return f"staff-session-generation:1:{user_id}"


def staff_session_generation(user_id) -> int:
    """The user's current session generation, from the cache or else the database (0 without a row)."""
    try:
        cached = cache.get(_cache_key(user_id))
    except RedisError:
        logger.warning("Session generation cache unavailable: read from the database")
        cached = None
    if cached is not None:
        return cached
    generation = StaffSessionGeneration.objects.filter(user_id=user_id).values_list("generation", flat=True).first() or 0
    with contextlib.suppress(RedisError):  # read from the database next time too
        cache.set(_cache_key(user_id), generation, CACHE_TIMEOUT)
    return generation


def _forget_generation(user_id) -> None:
    try:
        cache.delete(_cache_key(user_id))
    except RedisError:
        logger.warning("Session generation cache unavailable: user %s's cached generation not dropped", user_id)


def staff_session_stamp(session, user) -> None:
    """A new sign-in: the session's clocks start now, under the user's current generation."""
    now = time.time()
    session[STARTED] = session[SEEN] = now
    session[GENERATION] = staff_session_generation(user.pk)


def _stamp_on_sign_in(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        staff_session_stamp(request.session, user)


def connect_signals() -> None:
    user_logged_in.connect(_stamp_on_sign_in, dispatch_uid="staff_session_stamp")


def staff_session_check(session, user) -> str | None:
    """Why this signed-in session is over (IDLE, LIFETIME, ENDED), or None, and then its activity noted.
    A session signed in before these keys existed starts its clocks now."""
    now = time.time()
    started = session.get(STARTED)
    if started is None:
        staff_session_stamp(session, user)
        return None
    if session.get(GENERATION, 0) != staff_session_generation(user.pk):
        return ENDED
    if now - started > settings.STAFF_SESSION_MAX_HOURS * 3600:
        return LIFETIME
    seen = session.get(SEEN, started)
    if now - seen > settings.STAFF_SESSION_IDLE_MINUTES * 60:
        return IDLE
    if now - seen >= SEEN_RESOLUTION:
        session[SEEN] = now
    return None


@transaction.atomic
def staff_sign_out_everywhere(*, user, actor, ip_address: str | None = None) -> int:
    """End every session of `user` (whatever the session backend): their generation goes up by one, and
    every session stamped with an older one is refused by the middleware at its next request. Returns
    the new generation."""
    StaffSessionGeneration.objects.get_or_create(user=user)
    StaffSessionGeneration.objects.filter(user=user).update(generation=F("generation") + 1, changed_at=timezone.now())
    generation = StaffSessionGeneration.objects.values_list("generation", flat=True).get(user=user)
    staff_signed_out_everywhere_event(user=user, actor=actor, ip_address=ip_address)
    _forget_generation(user.pk)
    transaction.on_commit(lambda: _forget_generation(user.pk))
    logger.info(
        "Signed out everywhere: user %s (id %s) by %s (id %s), generation %s",
        user.get_username(),
        user.pk,
        actor.get_username() if actor else "-",
        actor.pk if actor else "-",
        generation,
    )
    return generation

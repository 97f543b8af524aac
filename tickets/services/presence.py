"""Who else has an appeal open in the console, and whether they are writing (collision detection).

Each open appeal page beats every few seconds (static/js/presence.js): the beat writes the viewer's
entry into one Redis hash per appeal (field: user id; value: name, writing, time) and reads the other
entries still fresh. One hash per appeal, one field per person: two beats never overwrite each other.
The hash expires by itself a while after the last beat, so a closed tab leaves nothing behind, and a
page that is left says so at once (`presence_leave`). No database row, no extra service: the cache's
Redis. If Redis cannot be reached, the page simply shows nobody (and the console works as before)."""

import contextlib
import json
import logging
import time

import redis
from django.conf import settings
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BEAT_SECONDS = 3  # how often an open page beats (the page reads it from data-presence-seconds)
FRESH_SECONDS = 12  # an entry older than this is someone who left without saying so
EXPIRE_SECONDS = 60  # the whole hash, after the last beat

_client = None


def _redis() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_CACHE_URL, socket_connect_timeout=1, socket_timeout=1)
    return _client


def _key(appeal) -> str:
    return f"supportdesk:presence:1:{appeal.pk}"


def presence_beat(*, appeal, user, writing: bool) -> list[dict]:
    """Note that `user` has `appeal` open (and is writing, or not); returns the others still there:
    [{"name": ..., "writing": bool}], by name."""
    now = time.time()
    key = _key(appeal)
    entry = json.dumps({"name": user.get_username(), "writing": bool(writing), "at": now})
    try:
        pipe = _redis().pipeline()
        pipe.hset(key, str(user.pk), entry)
        pipe.expire(key, EXPIRE_SECONDS)
        pipe.hgetall(key)
        _, _, entries = pipe.execute()
    except RedisError:
        logger.warning("Presence unavailable (Redis): appeal %s shows nobody else", appeal.reference)
        return []
    others, stale = [], []
    for field, raw in entries.items():
        if field.decode() == str(user.pk):
            continue
        other = json.loads(raw)
        if now - other["at"] > FRESH_SECONDS:
            stale.append(field)
            continue
        others.append({"name": other["name"], "writing": other["writing"]})
    if stale:
        with contextlib.suppress(RedisError):  # they are skipped anyway until the hash expires
            _redis().hdel(key, *stale)
    return sorted(others, key=lambda other: other["name"])


def presence_leave(*, appeal, user) -> None:
    """The page was closed or left: the others stop seeing this person at their next beat."""
    try:
        _redis().hdel(_key(appeal), str(user.pk))
    except RedisError:
        logger.warning("Presence unavailable (Redis): leaving appeal %s not noted", appeal.reference)

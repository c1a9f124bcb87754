"""The cache is only a cache: while Redis is unreachable a read misses and a write is dropped.

Django's RedisCache raises redis' ConnectionError or TimeoutError from every call when Redis is
down, so each page or form that touches the cache (the public web form's rate limit, the sales
board's snapshot, Today's activity strip) would answer 500 until Redis is back, and a Redis that
accepts connections but never answers would hold the request forever. This backend:

- connects and reads with short timeouts (OPTIONS `socket_connect_timeout`/`socket_timeout`, set
  in settings);
- on a connection error or timeout, answers as an empty cache: `get` returns the default,
  `get_many` nothing, `add` False, `incr` raises ValueError (a missing key, which is what
  django-ratelimit expects of an unavailable cache; RATELIMIT_FAIL_OPEN then lets the request
  through), writes and deletes do nothing;
- then skips Redis for CACHE_BACKOFF_SECONDS (a circuit breaker per process and location), so
  an outage costs one short attempt per back-off rather than one per call;
- logs one warning when Redis goes away and one line when it answers again, never a traceback.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger(__name__)

_UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_open_until: dict[str, float] = {}  # location -> time.monotonic() until which Redis is skipped
_down: set[str] = set()
_lock = threading.Lock()


class _Skipped(Exception):
    """Redis is skipped during the back-off."""


class FailSoftRedisCache(RedisCache):
    def _location(self) -> str:
        return ",".join(self._servers)

    def _call(self, name: str, *args, **kwargs):
        where = self._location()
        now = time.monotonic()
        if now < _open_until.get(where, 0.0):
            raise _Skipped
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except _UNREACHABLE as exc:
            with _lock:
                _open_until[where] = now + float(getattr(settings, "CACHE_BACKOFF_SECONDS", 5))
                first = where not in _down
                _down.add(where)
            if first:
                log.warning("cache unreachable (%s: %s): pages run without it until it answers",
                            exc.__class__.__name__, str(exc)[:200])
            raise _Skipped from exc
        if where in _down:
            with _lock:
                _down.discard(where)
                _open_until.pop(where, None)
            log.warning("cache reachable again")
        return result

    def _soft(self, name: str, fallback, *args, **kwargs):
        try:
            return self._call(name, *args, **kwargs)
        except _Skipped:
            return fallback

    def get(self, key, default=None, version=None):
        return self._soft("get", default, key, default, version)

    def get_many(self, keys, version=None):
        return self._soft("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._soft("has_key", False, key, version)

    def add(self, *args, **kwargs):
        return self._soft("add", False, *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._soft("set", None, *args, **kwargs)

    def set_many(self, data, *args, **kwargs):
        return self._soft("set_many", list(data), data, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._soft("touch", False, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._soft("delete", False, *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._soft("delete_many", None, *args, **kwargs)

    def incr(self, key, delta=1, version=None):
        try:
            return self._call("incr", key, delta, version)
        except _Skipped:
            raise ValueError(f"Key '{key}' not found: the cache is unreachable") from None

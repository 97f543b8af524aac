"""A rate limit per API key, at the key's own `rate_limit` ("120/min"), counted in the cache (Redis)."""

import logging

from rest_framework.throttling import SimpleRateThrottle

from integrations.models import IntegrationAPIKey

logger = logging.getLogger(__name__)
DEFAULT_RATE = "120/min"


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def __init__(self):
        pass  # the rate is the key's, known only once the request is authenticated

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, IntegrationAPIKey):
            return True  # unauthenticated requests are refused before any work
        try:
            self.num_requests, self.duration = self.parse_rate(key.rate_limit)
        except (ValueError, KeyError, IndexError):
            logger.warning("API key %s has an unreadable rate limit %r: using %s", key.prefix, key.rate_limit, DEFAULT_RATE)
            self.num_requests, self.duration = self.parse_rate(DEFAULT_RATE)
        self.rate = key.rate_limit
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}

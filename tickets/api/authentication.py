"""API keys: `Authorization: Api-Key <prefix>.<secret>` (djangorestframework-api-key stores the prefix
and a hash). The key must be neither revoked nor expired and its integration active. `request.auth` is
the key (its integration, scopes, rate limit); `request.user` stays anonymous. This is the API's only
authentication: a signed-in staff member's session cookie authorises nothing here."""

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from integrations.models import IntegrationAPIKey

KEYWORD = "Api-Key"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].decode("latin-1") != KEYWORD:
            return None  # no credentials: 401 from the permission check
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Authorization: Api-Key <key>."))
        secret = parts[1].decode("latin-1")
        # The library's get_from_key, with the integration in the same query: the prefix finds the row,
        # the hash of the whole key must match.
        key = (
            IntegrationAPIKey.objects.get_usable_keys()
            .select_related("integration")
            .filter(prefix=secret.partition(".")[0])
            .first()
        )
        if key is None or not key.is_valid(secret) or key.has_expired or not key.integration.is_active:
            raise exceptions.AuthenticationFailed(_("Unknown, revoked or expired API key."))
        return AnonymousUser(), key

    def authenticate_header(self, request) -> str:
        return KEYWORD  # makes a missing key a 401 (with WWW-Authenticate), not a 403

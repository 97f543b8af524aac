"""Scopes per endpoint: `permission_classes = [HasScope(Scope.APPEALS_WRITE)]`."""

from django.utils.translation import gettext_lazy
from rest_framework.permissions import BasePermission

from integrations.models import IntegrationAPIKey


def HasScope(scope: str) -> type[BasePermission]:  # noqa: N802 - used like a class in permission_classes
    """A permission class that lets through an API key holding `scope` (401 with no key at all)."""

    class _HasScope(BasePermission):
        message = gettext_lazy("This API key does not have the scope this endpoint needs: %(scope)s.") % {"scope": scope}
        required_scope = scope

        def has_permission(self, request, view) -> bool:
            key = request.auth
            return isinstance(key, IntegrationAPIKey) and key.has_scope(scope)

    _HasScope.__name__ = _HasScope.__qualname__ = f"HasScope_{scope.replace(':', '_')}"
    return _HasScope

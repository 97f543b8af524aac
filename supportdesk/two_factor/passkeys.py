"""Passkeys (django-otp-webauthn) for this site: the relying party is the host the page was requested
on (already checked against ALLOWED_HOSTS) unless WEBAUTHN_RP_ID names it, and an assertion is accepted
from the configured origins and from the page's own origin when that is a secure one."""

import ipaddress

from django.conf import settings
from django_otp_webauthn.helpers import WebAuthnHelper


def _host_name(request) -> str:
    return request.get_host().rsplit(":", 1)[0] if not request.get_host().startswith("[") else ""


def relying_party_id(request) -> str:
    return settings.WEBAUTHN_RP_ID or _host_name(request)


def passkeys_available(request) -> bool:
    """Browsers bind a passkey to a domain name: on an IP address (a first `make run` on 127.0.0.1)
    they refuse to make one."""
    host = relying_party_id(request)
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _own_origin(request) -> str | None:
    origin = f"{request.scheme}://{request.get_host()}"
    if request.scheme == "https" or _host_name(request) == "localhost":
        return origin
    return None


class PasskeyHelper(WebAuthnHelper):
    def get_allowed_origins(self) -> list[str]:
        origins = list(settings.OTP_WEBAUTHN_ALLOWED_ORIGINS)
        own = _own_origin(self.request) if self.request is not None else None
        if own and own not in origins and not settings.WEBAUTHN_ALLOWED_ORIGINS:
            origins.append(own)
        return origins

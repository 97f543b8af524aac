"""No server-side request forgery through a webhook URL.

A subscription's URL is checked when it is saved and again at every delivery, after DNS: it must be
https, and every address its host resolves to must be public — unless the address is inside
WEBHOOK_ALLOWED_NETWORKS (empty in production; 127.0.0.1/32 for the tests and `make run`), which also
allows plain http. The delivery then connects to the address that was checked (`pinned_session`),
never to the result of a second DNS look-up, so a name that resolves to a public address for the check
and to 10.0.0.5 a moment later (DNS rebinding) reaches nothing inside.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter


class DeliveryRefused(Exception):
    """The URL may not be called; the reason names the rule, never the secret."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to say the host is (`host`, for the Host
    header, TLS SNI and the certificate)."""

    scheme: str
    host: str
    port: int
    address: str
    path: str  # with the query string

    @property
    def pinned_url(self) -> str:
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{address}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (the one DNS look-up of a delivery; tests point it anywhere)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _allowed_networks() -> list:
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in settings.WEBHOOK_ALLOWED_NETWORKS if cidr.strip()]


def _unwrapped(address: str):
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) says nothing more
    if ip.version == 6 and ip.ipv4_mapped is not None:  # ::ffff:10.0.0.5 is 10.0.0.5
        return ip.ipv4_mapped
    return ip


def address_allow_listed(address: str) -> bool:
    ip = _unwrapped(address)
    return any(ip.version == network.version and ip in network for network in _allowed_networks())


def address_is_public(address: str) -> bool:
    ip = _unwrapped(address)
    private = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    return ip.is_global and not private


def url_check(url: str) -> Target:
    """The URL's target if it may be called now, after DNS; `DeliveryRefused` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DeliveryRefused("the URL is not valid") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeliveryRefused("the URL must be https://")
    if parts.username or parts.password:
        raise DeliveryRefused("the URL may not carry credentials")
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as exc:
        raise DeliveryRefused(f"the host name does not resolve ({type(exc).__name__})") from exc
    if not addresses:
        raise DeliveryRefused("the host name does not resolve")
    listed = [address_allow_listed(a) for a in addresses]
    for address, allow_listed in zip(addresses, listed, strict=True):
        if not allow_listed and not address_is_public(address):
            raise DeliveryRefused(f"{parts.hostname} resolves to {address}, which is not a public address")
    if parts.scheme != "https" and not all(listed):
        raise DeliveryRefused("the URL must be https://")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, address=addresses[0], path=path)


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address while TLS sends the host name (SNI) and checks the certificate
    against it, as if the URL had been called by name."""

    def __init__(self, host: str):
        self._host = host
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["server_hostname"] = self._host
        kwargs["assert_hostname"] = self._host
        super().init_poolmanager(*args, **kwargs)


def pinned_session(target: Target) -> requests.Session:
    """A session that sends the request to `target.pinned_url` only (no proxies from the environment,
    no redirects: the caller passes allow_redirects=False)."""
    session = requests.Session()
    session.trust_env = False
    session.mount(f"{target.scheme}://", _PinnedAdapter(target.host))
    return session

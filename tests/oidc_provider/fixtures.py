"""Fixtures for the single sign-on tests (imported by the test modules that use them)."""

import pytest

from tests.oidc_provider.server import CLIENT_ID, CLIENT_SECRET, GROUP_MAP, OIDCProvider

CALLBACK = "/accounts/oidc/callback/"


@pytest.fixture(scope="session")
def oidc_provider_process(live_server, tmp_path_factory):
    """One provider for the session, with the live server's callback as its client's redirect URI."""
    port = live_server.url.rsplit(":", 1)[1]
    uris = [f"http://{host}:{port}{CALLBACK}" for host in ("localhost", "127.0.0.1")]
    with OIDCProvider(tmp_path_factory.mktemp("oidc-provider"), uris) as provider:
        yield provider


@pytest.fixture
def oidc_provider(oidc_provider_process):
    """The provider, its people as PEOPLE says (a test may change their groups)."""
    oidc_provider_process.people_reset()
    yield oidc_provider_process
    oidc_provider_process.people_reset()


@pytest.fixture
def sso_settings(settings, oidc_provider):
    """SupportDesk with single sign-on on, pointed at the test provider (endpoints by discovery)."""
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_ISSUER = oidc_provider.issuer
    settings.OIDC_GROUP_MAP = GROUP_MAP
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "supportdesk.sso.StaffOIDCBackend"]
    return settings

from tests.oidc_provider.fixtures import oidc_provider, oidc_provider_process, sso_settings  # noqa: F401

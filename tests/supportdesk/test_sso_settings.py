"""The single sign-on settings (supportdesk/settings.py): off by default, loud when on but incomplete."""

import pytest

from tests.test_settings import load_settings

COMPLETE = {
    "DJANGO_DEBUG": "1",
    "OIDC_ENABLED": "1",
    "OIDC_RP_CLIENT_ID": "supportdesk",
    "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_ISSUER": "https://sso.example.com/realms/corp/",
    "OIDC_GROUP_MAP": "support-agents=agents,support-leads=supervisors",
}


def test_single_sign_on_is_off_by_default_and_adds_no_backend():
    result = load_settings("settings.OIDC_ENABLED, settings.AUTHENTICATION_BACKENDS[-1]", DJANGO_DEBUG="1")
    assert result.stdout.split() == ["False", "django.contrib.auth.backends.ModelBackend"], result.stderr


def test_complete_settings_add_the_backend_after_axes_and_map_the_groups():
    result = load_settings(
        "settings.AUTHENTICATION_BACKENDS, settings.OIDC_ISSUER, settings.OIDC_GROUP_MAP, settings.OIDC_RP_SIGN_ALGO",
        **COMPLETE,
    )
    assert result.stdout.strip() == (
        "['axes.backends.AxesStandaloneBackend', 'django.contrib.auth.backends.ModelBackend', "
        "'supportdesk.sso.StaffOIDCBackend'] "
        "https://sso.example.com/realms/corp {'support-agents': 'agents', 'support-leads': 'supervisors'} RS256"
    ), result.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"OIDC_RP_CLIENT_SECRET": ""}, "OIDC_ENABLED needs OIDC_RP_CLIENT_ID and OIDC_RP_CLIENT_SECRET."),
        ({"OIDC_ISSUER": ""}, "OIDC_ENABLED needs OIDC_ISSUER, or all four OIDC_OP_*_ENDPOINT settings."),
        ({"OIDC_GROUP_MAP": ""}, "OIDC_ENABLED needs OIDC_GROUP_MAP (provider group=agents or supervisors)."),
        ({"OIDC_GROUP_MAP": "everyone=admins"}, "OIDC_GROUP_MAP may map provider groups to agents or supervisors only."),
    ],
)
def test_incomplete_settings_stop_start_up_with_a_message(changes, message):
    result = load_settings(**{**COMPLETE, **changes})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_explicit_endpoints_stand_in_for_the_issuer():
    endpoints = {
        f"OIDC_OP_{name}_ENDPOINT": f"https://idp.example.com/{name.lower()}"
        for name in ("AUTHORIZATION", "TOKEN", "USER", "JWKS")
    }
    result = load_settings("settings.OIDC_OP_TOKEN_ENDPOINT", **{**COMPLETE, "OIDC_ISSUER": "", **endpoints})
    assert result.stdout.strip() == "https://idp.example.com/token", result.stderr

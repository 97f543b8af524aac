"""The settings module: driven by the environment, loud about missing secrets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_settings(
    show: str = "settings.DEBUG, settings.DATABASES['default']['ENGINE'], settings.TIME_ZONE, settings.LANGUAGE_CODE", **env
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS"))}
    code = f"import django; django.setup(); from django.conf import settings; print({show})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", **env},
    )


def test_missing_secret_key_stops_start_up_when_debug_is_off():
    result = load_settings(DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_development_defaults_are_sqlite_shanghai_and_chinese():
    result = load_settings(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "django.db.backends.sqlite3", "Asia/Shanghai", "zh-hans"]


def test_database_url_selects_postgresql():
    result = load_settings(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50, ID_NUMBER_HMAC_KEY="y" * 50, DATABASE_URL="postgres://u@db:5432/sd"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "django.db.backends.postgresql"


def test_database_connections_persist_with_health_checks_by_default():
    result = load_settings(
        show="settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['CONN_HEALTH_CHECKS']",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="x" * 50,
        ID_NUMBER_HMAC_KEY="y" * 50,
        DATABASE_URL="postgres://u@db:5432/sd",
    )
    assert result.returncode == 0, result.stderr
    # A connection per request costs ~8 ms of setup: kept for a minute instead, checked before reuse.
    assert result.stdout.split() == ["60", "True"]


def test_evidence_root_is_outside_static_and_media(settings):
    evidence = Path(settings.EVIDENCE_ROOT).resolve()
    for public in (settings.STATIC_ROOT, settings.MEDIA_ROOT, ROOT / "static"):
        assert not evidence.is_relative_to(Path(public).resolve())


def test_automatic_assignment_is_off_by_default_and_reads_its_settings():
    show = "settings.ASSIGNMENT_AUTOMATIC, settings.ASSIGNMENT_STRATEGY, settings.ASSIGNMENT_SWEEP_SECONDS"
    assert load_settings(show, DJANGO_DEBUG="1").stdout.split() == ["False", "least_loaded", "60"]
    result = load_settings(show, DJANGO_DEBUG="1", ASSIGNMENT_AUTOMATIC="true", ASSIGNMENT_STRATEGY="round_robin")
    assert result.stdout.split() == ["True", "round_robin", "60"]


def test_an_unknown_assignment_strategy_stops_start_up():
    result = load_settings(DJANGO_DEBUG="1", ASSIGNMENT_STRATEGY="random")
    assert result.returncode != 0
    assert 'ASSIGNMENT_STRATEGY must be "least_loaded" or "round_robin".' in result.stderr

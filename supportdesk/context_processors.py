"""Template context shared by every page."""

from django.conf import settings
from django.utils.translation import get_language


def site_name_for(language: str | None = None) -> str:
    """The configured product name in `language` (default: the active one); Chinese unless English."""
    language = (language or get_language() or settings.LANGUAGE_CODE).lower()
    return settings.SITE_NAME_EN if language.startswith("en") else settings.SITE_NAME_ZH_HANS


def site(request) -> dict:
    return {"site_name": site_name_for()}


def appeal_periods() -> dict:
    """The periods that pages and e-mails state in days, from the settings that enforce them."""
    return {
        "tracking_link_days": settings.TRACKING_LINK_MAX_AGE_DAYS,
        "reopen_window_days": settings.REOPEN_WINDOW_DAYS,
        "abandon_after_days": settings.ABANDON_AFTER_DAYS,
    }


def periods(request) -> dict:
    return appeal_periods()

"""Template context shared by every page."""

from django.conf import settings
from django.utils.translation import get_language


def site_name_for(language: str | None = None) -> str:
    """The configured product name in `language` (default: the active one); Chinese unless English."""
    language = (language or get_language() or settings.LANGUAGE_CODE).lower()
    return settings.SITE_NAME_EN if language.startswith("en") else settings.SITE_NAME_ZH_HANS


def site(request) -> dict:
    return {"site_name": site_name_for()}

"""Helpers for asserting on translated text."""

from django.utils import translation


def zh(message: str) -> str:
    """The zh-hans translation of an English source string; fails if there is none."""
    with translation.override("zh-hans"):
        translated = translation.gettext(message)
    assert translated != message, f"no zh-hans translation for {message!r}"
    return translated

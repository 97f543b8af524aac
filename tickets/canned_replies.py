"""Canned replies (the admin's `CannedReply`) as the console offers them: the active ones in the appeal's
language, each with its placeholders filled for that appeal.

The rows are read on every appeal page and change rarely, so they are kept in the cache per language,
as the console's other reference data is (tickets/reference.py), and dropped whenever one changes."""

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from .models import Appeal, AppealState, CannedReply
from .reference import _cached, _forget

KEY = "desk:canned-replies:{language}:1"
NO_DEADLINE = "—"


@dataclass(frozen=True)
class FilledReply:
    pk: int
    title: str
    text: str


def _key(language: str) -> str:
    return KEY.format(language=language)


def _rows(language: str) -> list[tuple[int, str, str]]:
    return _cached(
        _key(language),
        lambda: list(CannedReply.objects.filter(language=language, active=True).values_list("pk", "title", "body")),
    )


def canned_reply_values(appeal: Appeal) -> dict[str, str]:
    """What each placeholder stands for on this appeal (CannedReply.PLACEHOLDERS)."""
    if appeal.state == AppealState.AWAITING_INFO and appeal.sla_paused_at:
        # We wait on the appellant: the day their appeal is closed if they do not answer.
        deadline = appeal.sla_paused_at + timedelta(days=settings.ABANDON_AFTER_DAYS)
    elif appeal.is_open and appeal.sla_due_at:
        deadline = appeal.sla_due_at  # the promised time, as the status page shows it
    else:
        deadline = None
    zone = ZoneInfo(settings.TIME_ZONE)
    return {
        "reference": appeal.reference,
        "deadline": f"{deadline.astimezone(zone):%Y-%m-%d %H:%M}" if deadline else NO_DEADLINE,
        "name": appeal.account_identifier or appeal.contact_email,
    }


def canned_reply_fill(body: str, values: dict[str, str]) -> str:
    """`body` with each known placeholder replaced; the admin refuses any other brace, so none is left."""
    for name, value in values.items():
        body = body.replace("{" + name + "}", value)
    return body


def canned_replies_for(*, appeal: Appeal) -> list[FilledReply]:
    """The active canned replies in the appeal's language, by title, filled for this appeal."""
    values = canned_reply_values(appeal)
    return [FilledReply(pk, title, canned_reply_fill(body, values)) for pk, title, body in _rows(appeal.language)]


def _forget_language(instance=None, **kwargs) -> None:
    # A reply moved from one language to the other: both lists are dropped.
    for language in Appeal.Language.values:
        _forget(_key(language))(instance=instance, **kwargs)


def connect_signals() -> None:
    post_save.connect(_forget_language, sender=CannedReply, dispatch_uid="canned-replies-save")
    post_delete.connect(_forget_language, sender=CannedReply, dispatch_uid="canned-replies-delete")

"""Small pieces of console HTML built in Python, for parts that render once per row."""

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from .selectors import sla_status


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest // 60}


def sla_badge_html(appeal, now=None):
    """The SLA column: a coloured badge with time left or overdue. It runs once per queue row, so
    it builds its HTML directly instead of rendering a sub-template."""
    kind, css, left = sla_status(appeal, now)
    if kind == "stopped":
        text = "—"
    elif kind == "paused":
        text = _("paused")
    elif kind == "overdue":
        text = _("overdue by %(time)s") % {"time": _duration(left)}
    else:
        text = _("%(time)s left") % {"time": _duration(left)}
    title = f' title="{localtime(appeal.sla_due_at):%Y-%m-%d %H:%M}"' if appeal.sla_due_at else ""
    return mark_safe(f'<span class="badge text-bg-{css}"{title}>{escape(text)}</span>')  # noqa: S308 - escaped

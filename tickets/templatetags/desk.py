"""Template helpers for the console."""

from django import template
from django.utils.translation import gettext as _

from tickets.roles import is_supervisor
from tickets.selectors import sla_status

register = template.Library()


def _duration(seconds: int) -> str:
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    if hours >= 48:
        return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": rest // 60}


@register.inclusion_tag("desk/_sla_badge.html")
def sla_badge(appeal, now=None):
    kind, css, left = sla_status(appeal, now)
    if kind == "stopped":
        text = "—"
    elif kind == "paused":
        text = _("paused")
    elif kind == "overdue":
        text = _("overdue by %(time)s") % {"time": _duration(left)}
    else:
        text = _("%(time)s left") % {"time": _duration(left)}
    return {"css": css, "text": text, "due": appeal.sla_due_at}


@register.filter
def supervisor(user) -> bool:
    return is_supervisor(user)

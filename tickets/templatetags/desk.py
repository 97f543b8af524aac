"""Template helpers for the console."""

from django import template

from tickets.console.presentation import sla_badge_html
from tickets.labels import file_type_label
from tickets.roles import is_supervisor

register = template.Library()


@register.simple_tag
def sla_badge(appeal, now=None):
    return sla_badge_html(appeal, now)


@register.filter
def supervisor(user) -> bool:
    return is_supervisor(user)


@register.filter
def file_type(content_type: str) -> str:
    """A content type as staff read it ("PDF", "CSV table"), never the MIME code."""
    return file_type_label(content_type)

"""Template helpers for the console's timeline of an appeal."""

from django import template

from tickets.console import presentation

register = template.Library()


@register.filter
def state_label(code: str) -> str:
    return presentation.state_label(code)


@register.filter
def event_actor(event) -> str:
    return presentation.event_actor(event)

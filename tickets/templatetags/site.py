"""`{% site_name %}` for templates rendered without a request (e-mails, error pages)."""

from django import template

from supportdesk.context_processors import site_name_for

register = template.Library()


@register.simple_tag
def site_name() -> str:
    return site_name_for()

"""The 500 page, rendered without the database, the session or context processors: they may be what failed."""

import logging

from django.http import HttpResponseServerError
from django.template import loader

logger = logging.getLogger(__name__)


def server_error(request, template_name: str = "500.html"):
    """Django's handler500, telling someone who was sending an appeal that it was not sent."""
    submission = request.method == "POST" and request.path.startswith("/appeals/new/")
    try:
        body = loader.get_template(template_name).render({"submission": submission})
    except Exception:
        logger.exception("the 500 page could not be rendered")
        body = "<!doctype html><h1>Server Error (500)</h1>"
    return HttpResponseServerError(body)

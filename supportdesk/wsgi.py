"""
WSGI config for supportdesk project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

django_application = get_wsgi_application()

# Chunked bodies are read here, bounded (supportdesk/middleware.py); declared lengths are checked in Django.
from supportdesk.middleware import RequestBodyLimit  # noqa: E402  (after Django is set up)

application = RequestBodyLimit(django_application)

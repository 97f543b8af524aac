"""Log hygiene: no capability (a tracking link's signed token) ever reaches a log.

A tracking link is 30 days of access to someone's appeal and ID photos, and request paths are logged
everywhere: Django's `django.request` / `django.security` loggers, gunicorn's access and error logs,
Celery's task failure reports. Rather than guard each call site, every record is cleaned on its way
out: `RedactCapabilities` is a filter on every handler (Django's LOGGING, Celery's handlers), and
`GunicornLogger` cleans gunicorn's access-log atoms and puts the same filter on its handlers.
"""

import logging
import re
import traceback

from gunicorn.glogging import Logger as _GunicornLogger

REDACTED = "[redacted]"

# `/appeals/status/<token>/`, also percent-encoded (a `next=` parameter, a Referer in a query string).
_CAPABILITY_IN_URL = re.compile(r"(appeals(?:/|%2f)status(?:/|%2f))[^/\s?#&\"'<>\\]+", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every capability in a URL replaced by `[redacted]`."""
    if not isinstance(text, str) or "status" not in text.lower():
        return text
    return _CAPABILITY_IN_URL.sub(lambda m: m.group(1) + REDACTED, text)


def _redact_value(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace"))
    return value


class _RedactedRequest:
    """Stands in for `record.request` (read by Django's AdminEmailHandler and error reporters): the
    request with its path, query string and Referer cleaned; everything else is the real request's."""

    _META_KEYS = ("PATH_INFO", "SCRIPT_NAME", "RAW_URI", "REQUEST_URI", "QUERY_STRING", "HTTP_REFERER")

    def __init__(self, request):
        self._request = request
        self.path = redact(request.path)
        self.path_info = redact(request.path_info)
        meta = dict(request.META)
        for key in self._META_KEYS:
            if key in meta:
                meta[key] = _redact_value(meta[key])
        self.META = meta

    def get_full_path(self, *args, **kwargs):
        return redact(self._request.get_full_path(*args, **kwargs))

    def get_full_path_info(self, *args, **kwargs):
        return redact(self._request.get_full_path_info(*args, **kwargs))

    def build_absolute_uri(self, *args, **kwargs):
        return redact(self._request.build_absolute_uri(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(self._request, name)

    def __str__(self):
        return redact(str(self._request))

    __repr__ = __str__


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean a record in place: message and arguments, exception and stack text, and `record.request`."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: leave it to the handler to report
        message = None
    if message is not None:
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    request = getattr(record, "request", None)
    if request is not None and hasattr(request, "META") and not isinstance(request, _RedactedRequest):
        record.request = _RedactedRequest(request)
    return record


class RedactCapabilities(logging.Filter):
    """A handler filter: lets every record through, with its capabilities redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_on_handlers(logger: logging.Logger) -> None:
    """Put the filter on every handler of a logger configured outside Django's LOGGING."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactCapabilities) for f in handler.filters):
            handler.addFilter(RedactCapabilities())


class GunicornLogger(_GunicornLogger):
    """gunicorn's logger (`logger_class` in supportdesk/gunicorn_conf.py): the access log's request line,
    path, query, Referer and environ atoms are cleaned, the client address is the one the application
    uses (supportdesk.client), and the error log's handlers carry the filter."""

    def setup(self, cfg):
        super().setup(cfg)
        install_on_handlers(self.error_log)
        install_on_handlers(self.access_log)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        cleaned = {key: _redact_value(value) for key, value in atoms.items()}
        cleaned["h"] = _client_address(environ) or cleaned.get("h", "-")
        return cleaned


def _client_address(environ) -> str | None:
    from django.conf import settings  # gunicorn loads this class before the application

    from .client import client_ip_from_meta

    try:
        return client_ip_from_meta(environ, settings.RATELIMIT_IP_META_KEY)
    except Exception:  # settings not importable in the master process: the socket address stands
        return None


def _install_on_celery_loggers(logger=None, **kwargs) -> None:
    if logger is not None:
        install_on_handlers(logger)


try:  # Celery sets up its own handlers in the worker and beat; clean those too.
    from celery.signals import after_setup_logger, after_setup_task_logger
except ImportError:  # pragma: no cover - Celery is a runtime dependency
    pass
else:
    after_setup_logger.connect(_install_on_celery_loggers, weak=False)
    after_setup_task_logger.connect(_install_on_celery_loggers, weak=False)

"""gunicorn's configuration: `gunicorn -c supportdesk/gunicorn_conf.py supportdesk.wsgi:application`
(the image's CMD, docker-compose.yml's web service, docs/deployment.md). Values can be tuned by
environment variable; the defaults are what production runs.

Slow clients: with the `gthread` worker a connection waits in the worker's poller, not in a thread,
until its request line and headers have arrived, and a request holds a thread only while it is handled.
WORKERS × THREADS requests are handled at once (3 × 8 = 24 by default), so a few clients trickling a
body cannot take the site down; the TLS proxy in front buffers whole bodies before they reach us
(docs/deployment.md), which is what removes slow uploads from the picture entirely. Bodies over
REQUEST_BODY_MAX_BYTES are refused by the application with 413 before they are read.

Logs: `supportdesk.logging.GunicornLogger` removes tracking-link tokens from the access and error logs
and logs the client address the application uses (RATELIMIT_IP_META_KEY behind the proxy).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gthread: a worker silent this long is restarted. Leaves room for a 50 MB multipart upload to be handled.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Request line and headers (gunicorn's defaults, stated); the body is bounded by the application.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190
# Heartbeat files in memory, as gunicorn recommends (a disk stall must not look like a hung worker).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
control_socket_disable = True

logger_class = "supportdesk.logging.GunicornLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Combined log format with the response time; %(r)s, %(U)s, %(q)s and %(f)s arrive redacted.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'

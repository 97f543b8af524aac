# SupportDesk image: the same image runs web (gunicorn), the two Celery workers (`-Q celery` for e-mail
# and SLA sweeps, `-Q evidence` for evidence processing) and beat; see docker-compose.yml and
# docs/deployment.md. No secret is baked in: every setting comes from the environment at run time.

# --- Front-end files: Bootstrap from the npm registry, pinned by package-lock.json ---------------
FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- Application ----------------------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=supportdesk.settings \
    EVIDENCE_ROOT=/data/evidence

# gettext provides msgfmt for `manage.py compilemessages`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

# settings.STATICFILES_DIRS reads node_modules/bootstrap/dist; only that folder is needed.
COPY --from=assets /build/node_modules/bootstrap/dist ./node_modules/bootstrap/dist
COPY . .

# Static files (hashed manifest, served by whitenoise) and translations are built into the image.
# Importing the settings needs a secret key; this throwaway value exists only for this one command
# and is not part of the image's environment.
RUN export DJANGO_SECRET_KEY=build-only-collectstatic-not-a-secret ID_NUMBER_HMAC_KEY=build-only-not-a-secret \
    && python manage.py collectstatic --noinput \
    && python manage.py compilemessages

# The code stays owned by root (read-only to the app). Only the evidence directory is writable; a
# named volume mounted there starts with this ownership and mode.
RUN groupadd --system --gid 10001 supportdesk \
    && useradd --system --uid 10001 --gid supportdesk --create-home --home-dir /home/supportdesk \
       --shell /usr/sbin/nologin supportdesk \
    && mkdir -p /data/evidence \
    && chown supportdesk:supportdesk /data/evidence \
    && chmod 0700 /data/evidence
USER supportdesk

EXPOSE 8000

# No HEALTHCHECK here: the workers and beat share this image and serve no HTTP. docker-compose.yml checks
# web through /healthz.
# supportdesk/gunicorn_conf.py: gthread workers (slow clients cannot hold every worker), timeouts,
# request line and header limits, and access/error logs with tracking-link tokens removed. Bodies over
# REQUEST_BODY_MAX_BYTES are refused by the application with 413 before they are read; the TLS proxy
# in front caps and buffers them too (docs/deployment.md).
CMD ["gunicorn", "--config", "supportdesk/gunicorn_conf.py", "--bind", "0.0.0.0:8000", \
     "supportdesk.wsgi:application"]

"""Exit non-zero with one line and the fix when Redis (the Celery broker) does not answer."""

import sys

import redis
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Check that Redis at REDIS_URL answers."

    def handle(self, *args, **options):
        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
        except redis.RedisError as exc:
            self.stderr.write(
                f"Redis is not reachable at {settings.REDIS_URL} ({exc}). Start it with "
                "`redis-server --daemonize yes` or set REDIS_URL to a running Redis."
            )
            sys.exit(1)
        self.stdout.write(f"Redis answers at {settings.REDIS_URL}")

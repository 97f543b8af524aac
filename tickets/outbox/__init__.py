"""The e-mail outbox: rows written in the caller's transaction (`services`), delivered by Celery after
commit (`tasks`)."""

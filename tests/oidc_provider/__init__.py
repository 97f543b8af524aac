"""A real OpenID Connect provider for the single sign-on tests: a minimal Django project using
django-oauth-toolkit, run in a subprocess on 127.0.0.1 (server.py starts it, serve.py is what runs)."""

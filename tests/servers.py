"""Servers run as production runs them, in a subprocess on 127.0.0.1."""

import os
import subprocess
import sys
import urllib.error
import urllib.request

from tests.conftest import free_port
from tests.faults import ROOT, subprocess_database_url, wait_until


def server_answers(process, url: str, exited) -> bool:
    """For wait_until: whether the server in `process` answers `url` yet (any HTTP status will do); an
    AssertionError with `exited()` if the process ended."""
    if process.poll() is not None:
        raise AssertionError(exited())
    try:
        urllib.request.urlopen(url, timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def server_stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class Gunicorn:
    """gunicorn started as production starts it (supportdesk/gunicorn_conf.py), on 127.0.0.1; from this
    checkout, or from `root` (another version of the code, e.g. a benchmark's baseline)."""

    def __init__(self, tmp_path, root=ROOT, **env):
        self.root = root
        self.port = free_port()
        self.access_log = tmp_path / "access.log"
        self.error_log = tmp_path / "error.log"
        self.output = tmp_path / "output.log"  # the application's own log (Django's LOGGING: stderr)
        self.env = {
            **os.environ,
            "DATABASE_URL": subprocess_database_url(),
            "GUNICORN_ACCESS_LOG": str(self.access_log),
            "GUNICORN_ERROR_LOG": str(self.error_log),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            **env,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        with open(self.output, "wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "supportdesk/gunicorn_conf.py",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "supportdesk.wsgi:application",
                ],
                cwd=self.root,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, 60, "gunicorn to answer")
        return self

    def _answers(self) -> bool:
        return server_answers(self.process, self.url + "/healthz", lambda: "gunicorn exited:\n" + self.logs())

    def __exit__(self, *exc):
        server_stop(self.process)

    def request(self, method: str, path: str, **headers) -> int:
        request = urllib.request.Request(
            self.url + path, method=method, headers=headers, data=b"action=withdraw" if method in ("POST", "PUT") else None
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def logs(self) -> str:
        return "".join(path.read_text() for path in (self.access_log, self.error_log, self.output) if path.exists())

"""The test provider in a subprocess (serve.py), and the people it knows."""

import copy
import json
import os
import subprocess
import sys

from tests.conftest import free_port
from tests.faults import ROOT, wait_until
from tests.servers import server_answers, server_stop

CLIENT_ID = "supportdesk-test"
CLIENT_SECRET = "supportdesk-test-secret-0123456789"
PASSWORD = "provider-password-42"
# Provider groups -> ours (OIDC_GROUP_MAP); "marketing" is mapped to nothing.
GROUP_MAP = {"support-agents": "agents", "support-leads": "supervisors"}
PEOPLE = {
    "alice": {"email": "alice@corp.example", "groups": ["support-agents", "all-staff"]},
    "bob": {"email": "bob@corp.example", "groups": ["support-leads"]},
    "carol": {"email": "carol@corp.example", "groups": ["marketing"]},
    # The same e-mail address as a local administrator's account.
    "mallory": {"email": "root@corp.example", "groups": ["support-agents"]},
    "dave": {"email": "dave@corp.example", "groups": ["support-agents"]},
}


class OIDCProvider:
    def __init__(self, tmp_path, redirect_uris: list[str]):
        self.port = free_port()
        self.people_file = tmp_path / "people.json"
        self.output = tmp_path / "provider.log"
        self.people_reset()
        self.env = {
            **os.environ,
            "OP_DATABASE": str(tmp_path / "provider.sqlite3"),
            "OP_RSA_KEY_FILE": str(tmp_path / "provider-key.pem"),
            "OP_PEOPLE": str(self.people_file),
            "OP_CLIENT_ID": CLIENT_ID,
            "OP_CLIENT_SECRET": CLIENT_SECRET,
            "OP_REDIRECT_URIS": " ".join(redirect_uris),
        }

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/o"

    def people_reset(self) -> None:
        people = {name: {**person, "password": PASSWORD} for name, person in copy.deepcopy(PEOPLE).items()}
        self.people_file.write_text(json.dumps(people))

    def person_set(self, username: str, **claims) -> None:
        """Change what the provider says of `username` from now on (groups, email_verified, …)."""
        people = json.loads(self.people_file.read_text())
        people[username].update(claims)
        self.people_file.write_text(json.dumps(people))

    def __enter__(self):
        with open(self.output, "wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.oidc_provider.serve", str(self.port)],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, 60, "the OpenID Connect provider to answer")
        return self

    def _answers(self) -> bool:
        url = self.issuer + "/.well-known/openid-configuration"
        return server_answers(self.process, url, lambda: "the provider exited:\n" + self.output.read_text())

    def __exit__(self, *exc):
        server_stop(self.process)

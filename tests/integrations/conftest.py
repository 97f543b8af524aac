"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1, in a thread, that verifies every
delivery with the `standardwebhooks` package's own verifier and records what it got."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from integrations.models import Integration, IntegrationEvent, WebhookSubscription
from tests.conftest import free_port


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int  # what the receiver answered
    verified_by: dict = field(default_factory=dict)  # secret's name -> whether it verified the delivery

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class Receiver:
    """Answers `status` (with `location` for a redirect and `reply` as the body); `secrets` are the
    secrets it verifies with, by name. `stop()` closes the port (connections refused); `start()` opens
    it again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.status = 200
        self.location = ""
        self.reply = b"ok"
        self.secrets: dict[str, str] = {}
        self.received: list[Received] = []
        self._arrived = threading.Condition()
        self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self, tls=None):
        """`tls`: an `ssl.SSLContext` to answer https instead of http."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = {}
                for name, secret in receiver.secrets.items():
                    try:
                        Webhook(secret).verify(body, headers)
                        verified[name] = True
                    except WebhookVerificationError:
                        verified[name] = False
                status = receiver.status
                self.send_response(status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)
                with receiver._arrived:
                    receiver.received.append(Received(self.path, headers, body, status, verified))
                    receiver._arrived.notify_all()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self) -> list[Received]:
        """What it answered 2xx to, verified by every secret it holds."""
        return [r for r in self.received if 200 <= r.status < 300 and all(r.verified_by.values())]

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        assert len(self.received) >= count, f"expected {count} deliveries, got {len(self.received)}"
        return self.received


@pytest.fixture
def local_receivers_allowed(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def receiver(local_receivers_allowed):
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def integration(db):
    return Integration.objects.create(name="PayApp")


@pytest.fixture
def subscription(integration, receiver):
    subscription = WebhookSubscription.objects.create(
        integration=integration, url=receiver.url, event_types=[t.value for t in IntegrationEvent.Type]
    )
    receiver.secrets["current"] = subscription.secret
    return subscription

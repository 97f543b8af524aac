"""The web tier reached directly, as production runs it (gunicorn with supportdesk/gunicorn_conf.py):
bodies over the limit are refused before they are read, and slow clients cannot take the site down."""

import re
import socket
import threading
import time
import urllib.request

import pytest

from evidence.models import Evidence
from tests.servers import Gunicorn
from tickets.models import Appeal

pytestmark = pytest.mark.django_db(transaction=True)

BOUNDARY = "----supportdesk-test-boundary"


def _status_of(sock: socket.socket) -> int:
    reply = b""
    while b"\r\n" not in reply:
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return int(reply.split(b" ", 2)[1])


def _connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock


def _stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_300_mb_body_is_refused_with_413_before_it_is_read(tmp_path, appeal_types, evidence_root):
    with Gunicorn(tmp_path, EVIDENCE_ROOT=str(evidence_root)) as server:
        sock = _connect(server)
        started = time.monotonic()
        sock.sendall(
            b"POST /appeals/new/account_recovery/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n".encode()
            + f"Content-Length: {300 * 1024 * 1024}\r\n\r\n".encode()
            + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="evidence_id_front"; filename="a.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode()
            + b"\xff" * (1024 * 1024)  # the first megabyte; the other 299 never need to be sent
        )
        status = _status_of(sock)
        elapsed = time.monotonic() - started
        sock.close()
        assert server.request("GET", "/appeals/track/") == 200  # still serving
    assert status == 413
    assert elapsed < 10
    assert Appeal.objects.count() == 0 and Evidence.objects.count() == 0
    assert _stored_files(evidence_root) == []


def _chunked_form_post(server, path: str, body: bytes, cookie: str) -> int:
    sock = _connect(server)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
    )
    for start in range(0, len(body), 7):  # in small chunks
        piece = body[start : start + 7]
        sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
    sock.sendall(b"0\r\n\r\n")
    try:
        return _status_of(sock)
    finally:
        sock.close()


def test_a_chunked_body_under_the_limit_is_read_and_one_over_it_is_refused_with_413(tmp_path, appeal_types, evidence_root):
    limit = 1024 * 1024
    with Gunicorn(tmp_path, EVIDENCE_ROOT=str(evidence_root), REQUEST_BODY_MAX_BYTES=str(limit)) as server:
        # Under the limit: the whole form arrives (without it, the CSRF token would be missing: 403).
        with urllib.request.urlopen(server.url + "/appeals/track/", timeout=30) as page:
            cookie = page.headers["Set-Cookie"].split(";", 1)[0]
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
        form = f"csrfmiddlewaretoken={token}&reference=AP-AAAA-AAAA&email=someone%40example.com".encode()
        assert _chunked_form_post(server, "/appeals/track/", form, cookie) == 200

        sock = _connect(server)
        sock.sendall(
            b"POST /appeals/new/account_recovery/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            + f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n\r\n".encode()
        )
        chunk = b"\xff" * 65536
        try:
            for _ in range(limit // len(chunk) + 4):  # a little over the limit, then the end
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server may stop reading once it has answered
            pass
        status = _status_of(sock)
        sock.close()
    assert status == 413
    assert Appeal.objects.count() == 0 and Evidence.objects.count() == 0
    assert _stored_files(evidence_root) == []


def test_slow_clients_trickling_bodies_do_not_stop_a_normal_get(tmp_path, appeal_types):
    # Fewer workers than slow clients: with sync workers each slow body holds a whole worker.
    slow_clients, stop = 4, threading.Event()
    with Gunicorn(tmp_path, GUNICORN_WORKERS="2", GUNICORN_THREADS="4") as server:

        def trickle():
            sock = _connect(server)
            try:
                sock.sendall(
                    b"POST /appeals/track/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100000\r\n\r\nreference="
                )
                for _ in range(600):  # one byte every 0.1 s, for at most a minute
                    if stop.wait(0.1):
                        break
                    sock.sendall(b"A")
            except OSError:
                pass
            finally:
                sock.close()

        threads = [threading.Thread(target=trickle, daemon=True) for _ in range(slow_clients)]
        for thread in threads:
            thread.start()
        try:
            stop.wait(2)  # every slow client is connected and its request is being read
            started = time.monotonic()
            status = server.request("GET", "/appeals/track/")
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    assert status == 200
    assert elapsed < 3.5, f"a normal GET waited {elapsed:.1f} s behind the slow clients"

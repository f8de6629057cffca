"""A real gunicorn stopped with SIGTERM: requests in flight complete, a stream cut short never looks complete.

Each test serves its own database (migrated, seeded, plus 6,000 sites so that a page of items is streamed),
so that what the server commits never reaches the suite's database.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from served_db import create_seeded, drop, plain

DB = "heritage_map_shutdown"
GUNICORN = Path(sys.executable).with_name("gunicorn")
MANY = 6000
STREAMED = "/ogc/collections/heritage-sites/items?limit=10000"


@pytest.fixture(scope="module")
def served_url(database_url):
    """A database of its own for the server: the seed and 6,000 more heritage sites."""
    url = create_seeded(database_url, DB)
    with psycopg.connect(plain(url)) as conn:
        conn.execute("""
            INSERT INTO sites (slug, name_en, kind, category, protection_status, condition, sources,
                               coord_confidence, publication_status, sample, geom)
            SELECT 'many-' || i, 'Site ' || i, 'heritage', 'gate', 'unknown', 'unknown', '{}', 'medium',
                   'published', false,
                   ST_SetSRID(ST_MakePoint(-8.9 + (i %% 100) * 0.001, 30.45 + (i / 100) * 0.001), 4326)
            FROM generate_series(1, %s) AS i""", [MANY])
    yield url
    drop(database_url, DB)


class Gunicorn:
    """One gunicorn master with one sync worker on a free loopback port, started and stopped by the test."""

    def __init__(self, url: str, graceful: float, tmp: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test", "HERITAGE_MAP_AUTO_SETUP": "0",
               "HERITAGE_MAP_UPLOADS_DIR": str(tmp / "uploads")}
        self.log = open(tmp / "gunicorn.log", "w+")
        self.proc = subprocess.Popen(
            [str(GUNICORN), "-w", "1", "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", str(graceful),
             "heritage_map.wsgi:app"], env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=tmp)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("/api/sites?limit=1")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"gunicorn did not answer: {self.output()}")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def connect_slow_reader(self) -> socket.socket:
        """Return a socket with a tiny receive buffer: the server's writes block as soon as it stops reading."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", self.port))
        sock.settimeout(30)
        return sock

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


@pytest.fixture
def gunicorn(served_url, tmp_path):
    servers = []

    def start(graceful: float) -> Gunicorn:
        servers.append(Gunicorn(served_url, graceful, tmp_path))
        return servers[-1]
    yield start
    for server in servers:
        server.stop()
        server.log.close()


def read_response(sock: socket.socket, path: str, pause: float = 0) -> http.client.HTTPResponse:
    """Send a GET on `sock`, read the status line, wait `pause` seconds, and return the response to read."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    response = http.client.HTTPResponse(sock)
    response.begin()
    time.sleep(pause)
    return response


def test_sigterm_lets_a_request_in_flight_complete(gunicorn, served_url):
    server = gunicorn(graceful=20)
    result = {}
    with psycopg.connect(plain(served_url)) as holder:
        holder.execute("LOCK TABLE sites IN ACCESS EXCLUSIVE MODE")  # the request waits on it, in flight
        request = threading.Thread(target=lambda: result.update(answer=server.get("/api/sites")))
        request.start()
        time.sleep(1.0)
        server.terminate()
        time.sleep(1.0)
        assert server.proc.poll() is None  # still serving its request
        holder.rollback()
    request.join(30)
    status, body = result["answer"]
    assert status == 200
    assert len(json.loads(body)["features"]) == MANY + 33
    assert server.proc.wait(30) == 0
    assert "Shutting down: Master" in server.output()


def test_a_stream_in_flight_at_sigterm_ends_complete_within_the_graceful_timeout(gunicorn):
    server = gunicorn(graceful=20)
    sock = server.connect_slow_reader()
    response = read_response(sock, STREAMED)
    assert response.status == 200 and response.chunked  # streamed: no length said
    server.terminate()
    time.sleep(1.0)  # the worker's writes are blocked on the full socket meanwhile
    doc = json.loads(response.read())
    assert doc["numberReturned"] == len(doc["features"]) == MANY + 24
    assert server.proc.wait(30) == 0


def test_a_stream_cut_by_the_graceful_timeout_fails_visibly(gunicorn):
    server = gunicorn(graceful=1)
    sock = server.connect_slow_reader()
    response = read_response(sock, STREAMED)
    assert response.status == 200 and response.chunked
    server.terminate()
    time.sleep(4.0)  # past the graceful timeout: the master kills the worker mid-stream
    # The stream never got its last chunk: the client knows it is incomplete, never takes it for whole.
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    assert server.proc.wait(30) == 0


def test_a_download_cut_short_is_shorter_than_its_content_length(gunicorn):
    # Exports are built whole and sent with their length: a cut one is refused by the client as well.
    server = gunicorn(graceful=1)
    sock = server.connect_slow_reader()
    response = read_response(sock, "/api/export/heritage-sites?format=geojson")
    assert response.status == 200 and not response.chunked and response.length > 1_000_000
    server.terminate()
    time.sleep(4.0)
    with pytest.raises(http.client.IncompleteRead):
        response.read()

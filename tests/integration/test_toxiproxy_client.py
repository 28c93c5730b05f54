"""ToxiproxyClient against a real Toxiproxy server on loopback."""

from __future__ import annotations

import shutil
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drillbook.stack.ports import free_port
from drillbook.stack.toxiproxy_server import ToxiproxyServer, find_toxiproxy_server
from drillbook.toxiproxy import ToxiproxyClient, ToxiproxyError, ToxiproxyUnreachable

pytestmark = pytest.mark.integration


class TaggedEcho(socketserver.ThreadingTCPServer):
    """Answers every line with `<tag>:<line>`, so a test can tell upstreams apart."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tag: str) -> None:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for line in self.rfile:
                    self.wfile.write(tag.encode() + b":" + line)

        super().__init__(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def server() -> Iterator[ToxiproxyServer]:
    try:
        binary = find_toxiproxy_server()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    run_dir = Path(tempfile.mkdtemp(prefix="drillbook-toxiproxy-"))
    toxiproxy = ToxiproxyServer(
        binary=binary, port=free_port(), log_path=run_dir / "toxiproxy.log", ready_timeout_s=10
    )
    toxiproxy.spawn()
    toxiproxy.wait_ready()
    yield toxiproxy
    toxiproxy.stop()
    shutil.rmtree(run_dir)


@pytest.fixture
def client(server: ToxiproxyServer) -> Iterator[ToxiproxyClient]:
    client = ToxiproxyClient(server.url, timeout_s=2.0)
    yield client
    for name in client.proxies():
        client.delete_proxy(name)
    client.close()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[TaggedEcho, TaggedEcho]]:
    one, two = TaggedEcho("one"), TaggedEcho("two")
    yield one, two
    for echo in (one, two):
        echo.shutdown()
        echo.server_close()


def round_trip(port: int, line: bytes = b"hello\n") -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(line)
        answer = conn.makefile("rb").readline()
    return answer, time.monotonic() - started


def test_create_proxy_forwards_to_its_upstream(client: ToxiproxyClient, upstreams) -> None:
    proxy = client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)

    assert proxy.enabled and proxy.upstream == upstreams[0].address
    assert client.proxies() == {"echo": proxy}
    assert client.proxy("echo") == proxy
    assert round_trip(proxy.listen_port)[0] == b"one:hello\n"
    assert client.version()


def test_latency_toxic_slows_the_answer_until_removed(client: ToxiproxyClient, upstreams) -> None:
    proxy = client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)

    toxic = client.add_toxic("echo", "slow", "latency", {"latency": 300})

    assert (toxic.type, toxic.stream, toxic.attributes["latency"]) == ("latency", "downstream", 300)
    assert client.toxics("echo") == [toxic]
    assert round_trip(proxy.listen_port)[1] >= 0.3
    client.remove_toxic("echo", "slow")
    assert client.toxics("echo") == []
    assert round_trip(proxy.listen_port)[1] < 0.3


def test_disabled_proxy_refuses_connections(client: ToxiproxyClient, upstreams) -> None:
    proxy = client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)

    assert client.update_proxy("echo", enabled=False).enabled is False

    with pytest.raises(ConnectionRefusedError):
        round_trip(proxy.listen_port)
    client.update_proxy("echo", enabled=True)
    assert round_trip(proxy.listen_port)[0] == b"one:hello\n"


def test_update_upstream_redirects_new_connections(client: ToxiproxyClient, upstreams) -> None:
    proxy = client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)

    updated = client.update_proxy("echo", upstream=upstreams[1].address)

    assert updated.listen_port == proxy.listen_port
    assert round_trip(proxy.listen_port)[0] == b"two:hello\n"


def test_reset_enables_proxies_and_removes_toxics(client: ToxiproxyClient, upstreams) -> None:
    proxy = client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)
    client.add_toxic("echo", "slow", "latency", {"latency": 300})
    client.update_proxy("echo", enabled=False)

    client.reset()

    assert client.proxy("echo").enabled
    assert client.toxics("echo") == []
    assert round_trip(proxy.listen_port)[1] < 0.3


def test_error_names_method_url_status_and_body(client: ToxiproxyClient) -> None:
    with pytest.raises(ToxiproxyError) as caught:
        client.proxy("no-such-proxy")

    error = caught.value
    assert error.status == 404
    assert str(error) == (
        f"toxiproxy GET {client.base_url}/proxies/no-such-proxy answered 404: "
        '{"error":"proxy not found","status":404}'
    )


def test_duplicate_proxy_and_bad_toxic_are_errors(client: ToxiproxyClient, upstreams) -> None:
    client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)

    with pytest.raises(ToxiproxyError, match="POST .*/proxies answered 409"):
        client.create_proxy("echo", f"127.0.0.1:{free_port()}", upstreams[0].address)
    with pytest.raises(ToxiproxyError, match="answered 400: .*invalid toxic type"):
        client.add_toxic("echo", "bad", "no-such-toxic", {})


def test_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = ToxiproxyClient(url, timeout_s=0.5)

    with pytest.raises(ToxiproxyUnreachable, match=f"unreachable at {url}/version"):
        client.version()


def test_a_silent_server_times_out_as_unreachable() -> None:
    with socket.socket() as silent:  # listens, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = ToxiproxyClient(url, timeout_s=0.3)
        started = time.monotonic()

        with pytest.raises(ToxiproxyUnreachable, match="Timeout"):
            client.proxies()

    assert time.monotonic() - started < 2

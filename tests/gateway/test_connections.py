"""Slow and greedy clients over raw sockets against a live gateway (the settings `airlock serve`
runs with, timeouts shortened): headers that never finish, bodies that trickle, too many
connections from one address or in all, oversized chunked bodies."""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from airlock.gateway.config import GatewayConfig

from .conftest import Live, serve

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.5
PER_CLIENT = 12
TOTAL = 20
MAX_BODY = 64 * 1024
MAX_AUDIO = 256 * 1024
# Far above the timeouts above: a loaded 2-core machine may be slow, never this slow.
PATIENCE_S = 15.0
PARTIAL = b"POST /v1/embeddings HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"


@pytest.fixture(scope="module")
def gateway(airlock_home: Path) -> Iterator[Live]:
    yield from serve(
        GatewayConfig(
            header_timeout_s=HEADER_TIMEOUT_S,
            body_timeout_s=BODY_TIMEOUT_S,
            max_connections=TOTAL,
            max_connections_per_client=PER_CLIENT,
            max_request_bytes=MAX_BODY,
            max_audio_bytes=MAX_AUDIO,
        )
    )


@pytest.fixture(scope="module")
def key(gateway: Live) -> str:
    return gateway.key("connections-test")


def address(live: Live) -> tuple[str, int]:
    port = int(live.url.rsplit(":", 1)[1].split("/")[0])
    return "127.0.0.1", port


def connect(live: Live, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(address(live))
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before it closed the connection; None if it is still open."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


def still_open(*socks: socket.socket) -> bool:
    """None of `socks` has been answered or closed (a closed socket reads as readable)."""
    readable, _, _ = select.select(socks, [], [], 0.2)
    return not readable


def answer_headers(raw: bytes) -> dict[str, str]:
    lines = raw.partition(b"\r\n\r\n")[0].decode().split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def answer(raw: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    """Status, headers and JSON body of one whole response."""
    body = raw.partition(b"\r\n\r\n")[2]
    return int(raw.split(b" ", 2)[1]), answer_headers(raw), json.loads(body)


def health(live: Live, source: str = "127.0.0.1") -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=PATIENCE_S) as client:
        return client.get(live.url.removesuffix("/v1") + "/health").status_code


def test_unfinished_headers_are_closed_while_others_are_served(gateway: Live) -> None:
    held = [connect(gateway) for _ in range(PER_CLIENT - 2)]
    for sock in held:
        sock.sendall(PARTIAL)
    # One more trickles a header line every 0.2 s: bytes arriving do not extend the deadline.
    trickler = connect(gateway)
    trickler.sendall(PARTIAL)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                trickler.sendall(b"X-Slow: 1\r\n")
            except OSError:
                return
            time.sleep(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        assert still_open(*held)
        assert health(gateway) == 200  # served meanwhile, from the same address
        started = time.monotonic()
        assert all(closed_within(sock, PATIENCE_S) == b"" for sock in held)
        assert closed_within(trickler, PATIENCE_S) is not None
        assert time.monotonic() - started < PATIENCE_S
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in [*held, trickler]:
            sock.close()
    assert health(gateway) == 200


def test_the_next_request_on_a_kept_alive_connection_has_a_header_deadline(
    gateway: Live,
) -> None:
    with connect(gateway) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: gateway\r\n\r\n")
        sock.settimeout(PATIENCE_S)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
            answer_headers(raw)["content-length"]
        ):
            raw += sock.recv(65536)
        assert raw.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /health HTTP/1.1\r\n")  # the next request's headers never end
        assert still_open(sock)
        assert closed_within(sock, PATIENCE_S) == b""


def test_connections_per_client_are_capped(gateway: Live) -> None:
    held = [connect(gateway) for _ in range(PER_CLIENT)]
    try:
        assert still_open(*held)
        with connect(gateway) as refused:
            raw = closed_within(refused, PATIENCE_S)
        assert raw is not None
        status, headers, body = answer(raw)
        assert status == 429 and headers["retry-after"] == "1"
        assert headers["connection"] == "close"
        assert body["error"]["code"] == "too_many_connections"  # type: ignore[index]
        assert "127.0.0.1" in body["error"]["message"]  # type: ignore[index]
        assert health(gateway, source="127.0.0.2") == 200  # another client is not refused
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:  # the server sees the closes a moment later
        try:
            assert health(gateway) == 200
            break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        pytest.fail("the closed connections were never given back")


def test_connections_in_all_are_capped(gateway: Live) -> None:
    held = [connect(gateway, f"127.0.0.{2 + i % 2}") for i in range(TOTAL)]
    try:
        assert still_open(*held)
        with connect(gateway, "127.0.0.9") as refused:
            raw = closed_within(refused, PATIENCE_S)
        assert raw is not None
        status, headers, body = answer(raw)
        assert status == 503 and headers["retry-after"] == "1"
        assert body["error"]["code"] == "server_overloaded"  # type: ignore[index]
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize(
    "request_head",
    [
        b"Content-Length: 100\r\n\r\n" + b"{" * 10,  # stalls after 10 of 100 bytes
        b"Transfer-Encoding: chunked\r\n\r\n",  # chunks trickle below
    ],
    ids=["stalled", "trickled"],
)
def test_slow_body_is_408(gateway: Live, key: str, request_head: bytes) -> None:
    with connect(gateway) as sock:
        sock.sendall(PARTIAL + f"Authorization: Bearer {key}\r\n".encode())
        sock.sendall(request_head)
        sock.settimeout(0.3)
        raw = b""
        started = time.monotonic()
        while time.monotonic() - started < PATIENCE_S:
            try:
                if b"chunked" in request_head:
                    sock.sendall(b"1\r\n \r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            raw += chunk
        status, headers, body = answer(raw)
        assert status == 408 and headers["connection"] == "close"
        assert body["error"]["code"] == "request_body_timeout"  # type: ignore[index]
        assert body["error"]["message"] == (  # type: ignore[index]
            f"the request body did not arrive within {BODY_TIMEOUT_S:g} s"
        )


def chunked(total: int, piece: int = 8192) -> Iterator[bytes]:
    for start in range(0, total, piece):
        yield b" " * min(piece, total - start)


def test_oversized_chunked_json_body_is_413(gateway: Live, key: str) -> None:
    response = httpx.post(
        f"{gateway.url}/embeddings",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        content=chunked(MAX_BODY + 1),
        timeout=PATIENCE_S,
    )
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert response.json()["error"] == {
        "message": f"the request body is larger than {MAX_BODY} bytes",
        "type": "invalid_request_error",
        "param": None,
        "code": "request_too_large",
    }


def test_oversized_chunked_audio_upload_is_413(gateway: Live, key: str) -> None:
    boundary = "airlock-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from chunked(MAX_AUDIO)
        yield f"\r\n--{boundary}--\r\n".encode()

    response = httpx.post(
        f"{gateway.url}/audio/transcriptions",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        content=body(),
        timeout=PATIENCE_S,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert str(MAX_AUDIO) in response.json()["error"]["message"]


def test_declared_oversized_body_is_413_and_closes(gateway: Live, key: str) -> None:
    response = httpx.post(
        f"{gateway.url}/embeddings",
        headers={"Authorization": f"Bearer {key}"},
        content=b" " * (MAX_BODY + 1),
        timeout=PATIENCE_S,
    )
    assert response.status_code == 413 and response.headers["connection"] == "close"
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize(
    "raw",
    [b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", b"NOT HTTP AT ALL\r\n\r\n"],
    ids=["headers-over-16k", "garbage"],
)
def test_unparseable_requests_get_a_json_400(gateway: Live, raw: bytes) -> None:
    with connect(gateway) as sock:
        sock.sendall(raw)
        answered = closed_within(sock, PATIENCE_S)
    assert answered is not None
    status, headers, body = answer(answered)
    assert status == 400 and headers["content-type"] == "application/json"
    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]

"""Connections: how long a client may take to send a request's headers, and how many
connections one client and all clients together may hold open.

uvicorn has neither (its keep-alive timeout stops as soon as one byte arrives, and
`limit_concurrency` answers 503 only once the headers are in), so a client that opens
connections and never finishes its headers held them forever. The gateway runs uvicorn's h11
protocol with a guard: a connection must complete each request's headers within
`header_timeout_s` of opening (or of the previous response), else it is closed; one beyond
`max_connections_per_client` from its address (an IPv6 /64: one host's usual share) is answered
429, one beyond `max_connections` in all 503, and closed. The body's deadline is an ASGI
middleware (gateway/bodies.py). `server_options` is what `airlock serve` and the tests' live
servers both run uvicorn with."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import Counter
from http import HTTPStatus
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from airlock.gateway.config import GatewayConfig
from airlock.gateway.errors import BadRequest, GatewayError, Overloaded, TooManyRequests
from airlock.gateway.protocol import error_body

RETRY_AFTER_S = 1.0  # connections come and go within a request's time


class ConnectionLimits:
    """The open connections of one server, per client and in all (event-loop thread only)."""

    def __init__(self, total: int, per_client: int, header_timeout_s: float) -> None:
        self.total = total
        self.per_client = per_client
        self.header_timeout_s = header_timeout_s
        self.open: Counter[str] = Counter()
        self.count = 0

    def admit(self, client: str) -> GatewayError | None:
        """None when `client` may open one more connection (now counted), else the refusal."""
        if self.count >= self.total:
            error: GatewayError = Overloaded(
                f"the server holds its maximum of {self.total} connections; retry shortly"
            )
            error.headers = {"Retry-After": str(round(RETRY_AFTER_S))}
            return error
        if self.open[client] >= self.per_client:
            return TooManyRequests(
                f"{client} holds its maximum of {self.per_client} open connections; "
                "reuse them, or retry once one closes",
                retry_after=RETRY_AFTER_S,
                code="too_many_connections",
            )
        self.open[client] += 1
        self.count += 1
        return None

    def release(self, client: str) -> None:
        self.count -= 1
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]


def client_of(address: str | None) -> str:
    """Whom a connection is counted against: its IPv4 address, or its IPv6 /64 (a host is
    usually given a whole /64, so counting single IPv6 addresses would cap nothing)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"  # a Unix socket has no address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the header deadline and the connection caps."""

    limits: ClassVar[ConnectionLimits]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._counted_as: str | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._waiting_after: RequestResponseCycle | None = None
        client = client_of(self.client[0] if self.client else None)
        refusal = self.limits.admit(client)
        if refusal is not None:
            transport.write(_raw_response(refusal))
            transport.close()
            return
        self._counted_as = client
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        if self._counted_as is not None:
            self.limits.release(self._counted_as)
            self._counted_as = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._waiting_after:
            self._stop_header_timer()  # a new request's headers are complete

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request already received
        if self.cycle.response_complete and not self.transport.is_closing():
            self._await_headers()

    def send_400_response(self, msg: str) -> None:
        """What is not HTTP/1.1 (bad syntax, headers over h11's 16 KiB): uvicorn answers in
        plain text, the gateway in its JSON errors."""
        error = BadRequest("the request is not valid HTTP/1.1, or its headers exceed 16 KiB")
        body = json.dumps(error_body(error)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=error.status, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    def _await_headers(self) -> None:
        self._stop_header_timer()
        self._waiting_after = self.cycle
        self._header_timer = self.loop.call_later(self.limits.header_timeout_s, self._too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        self.transport.close()


def _raw_response(error: GatewayError) -> bytes:
    """The error as a whole HTTP/1.1 response, written before any request was read."""
    body = json.dumps(error_body(error)).encode()
    lines = [
        f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{name}: {value}" for name, value in error.headers.items()),
    ]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def server_options(config: GatewayConfig) -> dict[str, Any]:
    """uvicorn's settings for `config` (uvicorn.run or uvicorn.Config keywords); each call
    gets its own connection counts."""
    limits = ConnectionLimits(
        config.max_connections, config.max_connections_per_client, config.header_timeout_s
    )

    class Protocol(GuardedH11Protocol):
        pass

    Protocol.limits = limits
    return {
        "host": config.host,
        "port": config.port,
        "http": Protocol,
        "log_level": "warning",
        # The app writes the access log (gateway/access_log.py): uvicorn's would double it.
        "access_log": False,
    }

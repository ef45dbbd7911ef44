"""uvicorn's WebSocket protocol, closing open sockets on shutdown with a reason a client can show.

On SIGTERM uvicorn stops accepting and calls `shutdown()` on every connection at once: HTTP requests
in flight run to their end, but WebSockets get a bare 1012 straight away. Here a socket stays open
until the requests in flight of its process are answered (its subscriptions keep delivering
meanwhile), then closes with 1012 Service Restart and `RESTART_REASON`, so a client knows to
reconnect, and a person reading its log knows why. `audiocity serve` uses it; under uvicorn directly
pass `--ws audiocity.http.websocket_protocol:ClosingWebSocketProtocol`.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

SERVICE_RESTART = 1012
RESTART_REASON = "Server restarting"
_POLL_SECONDS = 0.05


class ClosingWebSocketProtocol(WebSocketsSansIOProtocol):
    """Closes with 1012 and a reason once the process's HTTP requests in flight are answered."""

    _closing_task: asyncio.Task[None] | None = None

    def shutdown(self) -> None:
        if self.close_sent or not self.handshake_complete or self.disconnected:
            super().shutdown()  # nothing to say: not a socket yet, or already closing
            return
        self.stop_keepalive()
        if self._closing_task is None:
            self._closing_task = self.loop.create_task(self._close_after_requests())

    def _http_in_flight(self) -> bool:
        """uvicorn closes idle HTTP connections at shutdown; those left are answering a request."""
        return any(not isinstance(conn, WebSocketsSansIOProtocol) for conn in self.connections)

    async def _close_after_requests(self) -> None:
        grace = self.config.timeout_graceful_shutdown
        deadline = None if grace is None else self.loop.time() + grace
        while self._http_in_flight():  # uvicorn gives no event for it: look again shortly
            if deadline is not None and self.loop.time() >= deadline:
                break
            await asyncio.sleep(_POLL_SECONDS)
        if self.disconnected or self.close_sent or self.transport.is_closing():
            return  # the client left, or the app closed it meanwhile with its own reason
        self.close_sent = True
        self.queue.put_nowait({"type": "websocket.disconnect", "code": SERVICE_RESTART, "reason": RESTART_REASON})
        self.conn.send_close(SERVICE_RESTART, RESTART_REASON)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.transport.close()

"""Every use of the socket server's internals, in one place.

Channels, daphne, autobahn and Twisted don't offer these through ASGI, and
each is a bet on their private shapes: `pairup/tests/test_internals.py`
fails loudly when one of them changes, and every function here falls back to
plain ASGI (or to doing nothing) when it doesn't find what it expects.

- Channels wraps every send in its session middleware (`real_send`), though
  it acts only on HTTP responses: skipping it is most of the cost of a
  fan-out loop.
- daphne's send is `partial(server.handle_reply, protocol)`: the protocol
  is autobahn's WebSocket protocol on Twisted's TCP transport.
- Frames framed once (`wire_frames`) can be written straight to the
  transport of every socket in a room, instead of one ASGI send per frame
  per socket.
- Twisted writes nothing at once: each write registers the socket with
  the event loop and sends on its next turn, then unregisters it, three
  system calls and a pass through the loop per frame. When Twisted holds
  nothing for a socket, its frames go to the socket at once (`send_now`),
  and only what the kernel doesn't take is left to Twisted.
- Twisted's transport holds what the client hasn't read yet (`unsent`);
  daphne never applies backpressure, so a client that stops reading is
  closed with 4413 before its backlog grows without bound.
- daphne gives up on a handshake that outlasts its
  `--websocket_connect_timeout` (5 s) but lets the consumer run on,
  ignores its accept, and only then reports the disconnect: the server's
  record of the connection says it is gone (`gone`) before that.
- autobahn drops the TCP connection on a frame over daphne's size limit
  (`failByDrop`): turned off, the client gets a 1009 close frame instead.
  Its close handshake timeout (1 s) would reset a slow reader before it
  reads its 4413 close frame: a closing slow reader gets longer.
"""

import logging
from functools import partial

logger = logging.getLogger(__name__)

# How long a client closed for reading too slowly has to read up to the
# close frame before the connection is dropped.
SLOW_CLOSE_SECONDS = 60.0


def unwrap_send(send):
    """Return the server's own send callable behind Channels' middleware."""
    for _ in range(5):
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if inner is None:
            return send
        send = inner
    return send


def wire_frames(frames: list[str]) -> bytes:
    """Return `frames` as unmasked WebSocket text frames (RFC 6455), joined."""
    parts = []
    for frame in frames:
        data = frame.encode()
        size = len(data)
        if size < 126:
            parts.append(bytes((0x81, size)))
        elif size < 65536:
            parts.append(b"\x81\x7e" + size.to_bytes(2, "big"))
        else:
            parts.append(b"\x81\x7f" + size.to_bytes(8, "big"))
        parts.append(data)
    return b"".join(parts)


class RawSocket:
    """The daphne connection behind one consumer's ASGI send, if any."""

    def __init__(self, send):
        self.send = unwrap_send(send)
        protocol = None
        if isinstance(self.send, partial) and self.send.args:
            protocol = self.send.args[0]
        self.protocol = protocol
        self.transport = getattr(protocol, "transport", None)

    def prepare(self) -> None:
        """Close with 1009, not a dropped connection, on an oversized frame."""
        if self.protocol is not None and hasattr(self.protocol, "failByDrop"):
            self.protocol.failByDrop = False

    def is_open(self) -> bool:
        protocol = self.protocol
        return (
            protocol is not None
            and self.transport is not None
            and getattr(protocol, "state", None) == getattr(protocol, "STATE_OPEN", 1)
        )

    def gone(self) -> bool:
        """Return whether daphne has dropped the connection (the client
        left, or daphne gave up on its handshake); False when unknown."""
        server = getattr(self.protocol, "server", None)
        details = getattr(server, "connections", {}).get(self.protocol)
        return isinstance(details, dict) and "disconnected" in details

    def write(self, data: bytes) -> bool:
        """Write frames from `wire_frames`; False if that can't be done."""
        if not self.is_open():
            return False
        sent = send_now(self.transport, data)
        if sent < len(data):
            self.transport.write(data[sent:] if sent else data)
        return True

    def unsent(self) -> int:
        """Return the bytes the client hasn't taken yet (0 when unknown)."""
        transport = self.transport
        try:
            return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
        except (AttributeError, TypeError):
            return 0

    def slow_close(self) -> None:
        """Give a slow reader time to read up to the close frame."""
        if self.protocol is not None and hasattr(
            self.protocol, "closeHandshakeTimeout"
        ):
            self.protocol.closeHandshakeTimeout = SLOW_CLOSE_SECONDS


def send_now(transport, data: bytes) -> int:
    """Send `data` on a TCP transport's socket now if Twisted holds nothing
    for it (so the order of bytes is kept); return how many bytes went,
    0 for "leave it all to Twisted" (data buffered, TLS, closing, not a
    socket, the kernel's buffer full, or an error Twisted will report)."""
    try:
        if (
            transport.TLS
            or transport.disconnecting
            or not transport.connected
            or transport._tempDataLen
            or len(transport.dataBuffer) > transport.offset
        ):
            return 0
        sock = transport.socket
    except AttributeError:
        return 0
    try:
        return sock.send(data)
    except OSError:  # EAGAIN, or a reset Twisted finds on its own write
        return 0

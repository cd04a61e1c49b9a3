"""The server internals pairup/internals.py relies on still have the shape it
expects. A failure here after upgrading Channels, daphne, autobahn or
Twisted means pairup/internals.py must change with them."""

import inspect
import socket as sockets
from functools import partial

import pytest
from autobahn.twisted.websocket import WebSocketServerProtocol
from channels.sessions import InstanceSessionWrapper
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet.abstract import FileDescriptor
from twisted.internet.protocol import Protocol
from twisted.internet.tcp import Connection
from twisted.internet.tcp import Server as TCPServer

from pairup.internals import RawSocket, send_now, unwrap_send, wire_frames


def parse_server_frames(data: bytes) -> list[tuple[int, str]]:
    """Decode unmasked frames: [(opcode, text)], failing on leftovers."""
    frames, pos = [], 0
    while pos < len(data):
        first, size, pos = data[pos], data[pos + 1], pos + 2
        assert size & 0x80 == 0, "server frames are never masked"
        if size == 126:
            size, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif size == 127:
            size, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        assert first & 0xF0 == 0x80, "FIN set, no extension bits"
        frames.append((first & 0x0F, data[pos : pos + size].decode()))
        pos += size
    assert pos == len(data)
    return frames


# The shapes -------------------------------------------------------------------


def test_channels_session_wrapper_keeps_the_servers_send_as_real_send():
    source = inspect.getsource(InstanceSessionWrapper)
    assert "self.real_send = send" in source


def test_daphnes_send_is_a_partial_of_handle_reply_on_the_protocol():
    assert list(inspect.signature(Server.handle_reply).parameters) == [
        "self",
        "protocol",
        "message",
    ]
    assert "partial(self.handle_reply, protocol)" in inspect.getsource(Server)


def test_daphne_marks_a_connection_disconnected_when_it_gives_up_a_handshake():
    assert "self.server.protocol_disconnected(self)" in inspect.getsource(
        WebSocketProtocol.serverReject
    )
    assert "self.serverReject()" in inspect.getsource(WebSocketProtocol.check_timeouts)
    assert '["disconnected"] = time.time()' in inspect.getsource(
        Server.protocol_disconnected
    )


def test_a_raw_socket_is_gone_once_daphne_marks_its_connection_disconnected():
    protocol = FakeProtocol()
    protocol.server = type("FakeServer", (), {"connections": {protocol: {}}})()
    socket = RawSocket(daphne_send(protocol))
    assert socket.gone() is False
    protocol.server.connections[protocol]["disconnected"] = 1.0
    assert socket.gone() is True
    assert RawSocket(lambda message: None).gone() is False


def test_daphnes_protocol_is_autobahns_with_the_options_used():
    assert issubclass(WebSocketProtocol, WebSocketServerProtocol)
    assert "failByDrop" in WebSocketServerProtocol.CONFIG_ATTRS
    assert "closeHandshakeTimeout" in WebSocketServerProtocol.CONFIG_ATTRS
    assert WebSocketProtocol.STATE_OPEN != WebSocketProtocol.STATE_CLOSING


def test_twisted_transports_keep_unsent_data_where_unsent_reads_it():
    transport = FileDescriptor()
    for name in ("dataBuffer", "offset", "_tempDataLen"):
        assert hasattr(transport, name)
    transport.connected = True
    transport.startWriting = lambda: None  # no reactor here
    transport.write(b"x" * 10)
    socket = RawSocket(None)
    socket.transport = transport
    assert socket.unsent() == 10


def test_daphnes_connections_are_twisted_tcp_connections_with_what_send_now_reads():
    assert issubclass(TCPServer, Connection)
    for name in ("TLS", "disconnecting", "connected", "dataBuffer", "offset"):
        assert hasattr(Connection, name)
    assert "self.socket" in inspect.getsource(Connection.__init__)
    assert "_tempDataLen" in inspect.getsource(FileDescriptor.write)


# The functions ----------------------------------------------------------------


def test_wire_frames_are_whole_text_frames_of_every_length():
    texts = ["", "é" * 10, "x" * 125, "y" * 126, "z" * 65535, "w" * 65536]
    assert parse_server_frames(wire_frames(texts)) == [(0x1, text) for text in texts]


class FakeTransport:
    dataBuffer, offset, _tempDataLen = b"x" * 100, 40, 7

    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)


class FakeProtocol:
    STATE_OPEN, STATE_CLOSING = 1, 2
    failByDrop = True
    closeHandshakeTimeout = 1

    def __init__(self, state=1):
        self.state = state
        self.transport = FakeTransport()


def daphne_send(protocol):
    async def handle_reply(protocol, message):
        pass

    send = partial(handle_reply, protocol)
    wrapper = InstanceSessionWrapper.__new__(InstanceSessionWrapper)
    wrapper.real_send = send
    return wrapper.send


def test_the_raw_socket_is_found_behind_channels_middleware():
    protocol = FakeProtocol()
    send = daphne_send(protocol)
    assert unwrap_send(send).args == (protocol,)
    socket = RawSocket(send)
    assert socket.protocol is protocol
    assert socket.unsent() == 67
    assert RawSocket(lambda message: None).protocol is None


def test_frames_are_written_to_an_open_daphne_socket_only():
    data = wire_frames(['{"type":"status","text":"hi"}'])
    open_socket = RawSocket(daphne_send(FakeProtocol()))
    assert open_socket.write(data) is True
    assert open_socket.transport.written == [data]

    closing = RawSocket(daphne_send(FakeProtocol(state=FakeProtocol.STATE_CLOSING)))
    not_daphne = RawSocket(lambda message: None)
    for socket in (closing, not_daphne):
        assert socket.write(data) is False
    assert closing.transport.written == []


def test_an_oversized_frame_closes_with_1009_and_a_slow_reader_gets_time():
    protocol = FakeProtocol()
    socket = RawSocket(daphne_send(protocol))
    socket.prepare()
    assert protocol.failByDrop is False
    socket.slow_close()
    assert protocol.closeHandshakeTimeout >= 10


# Writing at once ----------------------------------------------------------------


class Loop:
    """What a Twisted transport asks of its reactor: the sockets it watches
    for writing (Twisted's method names)."""

    def __init__(self):
        self.writers = []

    def addWriter(self, transport):
        self.writers.append(transport)

    def removeWriter(self, transport):
        self.writers.remove(transport)


@pytest.fixture
def connection():
    """A Twisted TCP connection on one end of a socket pair, the other end
    to read what it sent; a reactor that only records."""
    ours, theirs = sockets.socketpair()
    loop = Loop()
    transport = Connection(ours, Protocol(), reactor=loop)
    transport.connected = True
    theirs.setblocking(False)
    yield transport, theirs, loop
    ours.close()
    theirs.close()


def received(peer) -> bytes:
    chunks = []
    while True:
        try:
            chunk = peer.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def open_raw_socket(transport) -> RawSocket:
    protocol = FakeProtocol()
    protocol.transport = transport
    return RawSocket(daphne_send(protocol))


def test_a_frame_goes_to_the_socket_at_once_when_twisted_holds_nothing(connection):
    transport, peer, loop = connection
    data = wire_frames(['{"type":"lab"}'])
    assert open_raw_socket(transport).write(data) is True
    assert received(peer) == data
    assert loop.writers == []  # the loop was never asked to write


def test_a_frame_queues_behind_what_twisted_holds_so_the_order_is_kept(connection):
    transport, peer, loop = connection
    transport.write(b"first")  # Twisted buffers it until the loop's turn
    assert loop.writers == [transport]
    open_raw_socket(transport).write(b"second")
    assert received(peer) == b""
    transport.doWrite()
    assert received(peer) == b"firstsecond"


def test_what_the_kernel_does_not_take_is_left_to_twisted(connection):
    transport, peer, loop = connection
    transport.socket.setsockopt(sockets.SOL_SOCKET, sockets.SO_SNDBUF, 4096)
    data = bytes(range(256)) * 4096  # 1 MiB: more than the socket takes
    socket = open_raw_socket(transport)
    socket.write(data)
    first = received(peer)
    assert 0 < len(first) < len(data)
    assert socket.unsent() == len(data) - len(first)
    assert loop.writers == [transport]
    got = [first]
    while socket.unsent():
        transport.doWrite()
        got.append(received(peer))
    assert b"".join(got) == data


def test_closing_or_tls_transports_and_fakes_are_left_to_twisted(connection):
    transport, peer, _ = connection
    transport.disconnecting = True
    assert send_now(transport, b"x") == 0
    transport.disconnecting = False
    transport.TLS = True
    assert send_now(transport, b"x") == 0
    assert send_now(FakeTransport(), b"x") == 0
    assert received(peer) == b""

"""The live lab board socket, `/ws/labs/` (server to client only)."""

import asyncio
import json
import logging
import time
from dataclasses import replace
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from accounts import revocation
from pairup.internals import RawSocket, wire_frames
from pairup.layer import Listener, listener
from projects import board_cache
from projects.realtime import BALLOT_EVENT, LABS_GROUP, frames_for_viewer, merge
from projects.selectors import viewer_get

logger = logging.getLogger(__name__)


class Boards:
    """This process's open boards: one subscription to the board's group,
    whatever the number of sockets (`pairup/layer.py`).

    The boards are written at most once per PACE seconds: an event after a
    quiet spell goes out at once, and events that arrive within PACE of the
    last write, or while it runs, go out together at the end of it, merged
    (`realtime.merge`). On opening night a burst of bookings is then a few
    frames a second per socket, not one per booking per socket, for the
    server to write and each browser to read.
    """

    PACE = 0.1  # seconds

    def __init__(self, live: Listener):
        self.live = live
        self.sockets: set = set()
        self.queue: list[dict] = []
        self.writing: asyncio.Task | None = None
        self.written = float("-inf")  # when the boards were last written

    async def add(self, consumer) -> None:
        self.sockets.add(consumer)
        try:
            await self.live.subscribe(LABS_GROUP, self, self._on_event)
        except BaseException:
            await self.remove(consumer)
            raise

    async def remove(self, consumer) -> None:
        self.sockets.discard(consumer)
        if not self.sockets:
            await self.live.unsubscribe(LABS_GROUP, self)

    async def _on_event(self, event: dict) -> None:
        self.queue.append(event)
        if self.writing is None:
            self.writing = self.live.loop.create_task(self._write())

    async def _write(self) -> None:
        loop = self.live.loop
        try:
            while self.queue:
                wait = self.written + self.PACE - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)  # more events queue up meanwhile
                self.written = loop.time()
                batch, self.queue = self.queue, []
                for event in merge(batch):
                    if event["type"] == "labs.update":
                        board_cache.apply(event)
                        await self._send_slots(event)
                    elif event["type"] == BALLOT_EVENT:
                        await self._nudge_coordinator_pages(event)
                    else:
                        for consumer in list(self.sockets):
                            await consumer.on_viewers(event)
        finally:
            self.writing = None

    async def _nudge_coordinator_pages(self, event: dict) -> None:
        """The ballot changed: only the coordinator pages have something to
        show for it (their ballot section)."""
        nudge = _coordinator_nudge(event)
        for consumer in list(self.sockets):
            if not consumer.coordinator_view:
                continue
            try:
                await consumer.deliver(*nudge)
            except Exception:
                logger.debug("dropped a coordinator nudge", exc_info=True)

    async def _send_slots(self, event: dict) -> None:
        """Write each socket the frames its user may see, encoded and framed
        for the wire once per kind of viewer: a viewer's frames differ only
        by coordinator or not, and by being the team of a slot concerned."""
        now = time.time()
        holders = {facts.get("project") for facts in event["labs"]}
        encoded: dict[tuple, tuple] = {}
        for consumer in list(self.sockets):
            viewer = consumer.viewer
            if consumer.coordinator_view:
                key = "coordinator page"
            else:
                key = (
                    viewer.is_coordinator,
                    viewer.project_id if viewer.project_id in holders else None,
                )
            if key not in encoded:
                if consumer.coordinator_view:
                    encoded[key] = _coordinator_nudge(event)
                else:
                    frames = [
                        encode(frame) for frame in frames_for_viewer(event, viewer, now)
                    ]
                    encoded[key] = (frames, wire_frames(frames))
            try:
                await consumer.deliver(*encoded[key])
            except Exception:
                logger.debug("dropped a board frame", exc_info=True)


_boards: Boards | None = None


def boards() -> Boards:
    """Return this process's boards (one per event loop: tests run several)."""
    global _boards
    live = listener()
    if _boards is None or _boards.live is not live:
        _boards = Boards(live)
    return _boards


def encode(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _framed(frame: dict) -> tuple[list[str], bytes]:
    encoded = encode(frame)
    return [encoded], wire_frames([encoded])


# What a change event means to the coordinator page: its counts and lists
# changed (slots booked, freed or changed; teams formed, joined or left),
# or its ballot section did (a team ranked, a dry run, the run).
COORDINATOR_CHANGES = {
    "labs.update": "slots",
    "labs.viewers": "teams",
    BALLOT_EVENT: "ballot",
}


def _coordinator_nudge(event: dict) -> tuple[list[str], bytes]:
    """The coordinator page's one frame for a change of the board's group."""
    return _framed(
        {"type": "coordinator", "changed": COORDINATOR_CHANGES[event["type"]]}
    )


def _viewer_if_signed_in(*, session_key, user):
    """Return the user's Viewer if the session still signs them in, else
    None (one trip to the database thread)."""
    if not revocation.session_is_valid(session_key=session_key, user_id=user.pk):
        return None
    return viewer_get(user=user)


class LabBoardConsumer(revocation.Revocable, AsyncJsonWebsocketConsumer):
    """Send each user the `lab` frames of docs/protocol.md as that user may see them.

    The socket holds its user's Viewer (project id, coordinator or not),
    loaded once at connect and updated by `labs.viewers` events; filtering a
    change for this user is `frames_for_viewer`, with no query. It reads no
    channel layer itself: the process's `Boards` does.
    """

    channel_layer_alias = None  # no layer channel per socket

    user = None
    session_key = None
    viewer = None
    coordinator_view = False
    on_board = False
    backlog = None  # frames that arrived before the socket was accepted
    raw = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        # The coordinator page's socket (`?view=coordinator`) gets no slot
        # frames, only a `coordinator` nudge per change.
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.coordinator_view = query.get("view") == ["coordinator"]
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.raw = RawSocket(self.base_send)
        self.raw.prepare()
        self.backlog = []
        try:
            await revocation.watch(self, user.pk)
            self.viewer = await database_sync_to_async(_viewer_if_signed_in)(
                session_key=self.session_key, user=user
            )
            if self.coordinator_view and self.viewer and not self.viewer.is_coordinator:
                self.viewer = None  # coordinators only: refused at the handshake
            if self.viewer is not None and not self.refused:
                await boards().add(self)
                self.on_board = True
        except Exception:
            logger.warning("a lab board socket could not join", exc_info=True)
            self.viewer = None
        if self.viewer is None or self.refused:
            await self.leave()
            await self.close()
            return
        self.accepting = True
        await self.accept()  # last, once everything above succeeded
        backlog, self.backlog = self.backlog, None
        for frame in backlog:
            await self.send(text_data=frame)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler: a
        # hop to the one database thread per event per socket. Only `connect`
        # reaches the database here, through database_sync_to_async, which
        # does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        # As Channels' own, without its database hop (see `dispatch`).
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        if self.on_board:
            self.on_board = False
            await boards().remove(self)
        if self.user is not None:
            await revocation.unwatch(self, self.user.pk)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # Channels' JSON consumer would raise on a binary or non-JSON frame and
        # drop the socket; the board sends nothing, so every frame is refused.
        await self.send_json(
            {
                "type": "error",
                "code": "bad_request",
                "detail": "This socket only sends lab updates.",
            }
        )

    # Called by the process's Boards and the listener --------------------

    async def deliver(self, frames: list[str], wire: bytes) -> None:
        """Send encoded frames; `wire` is them framed for the wire, written
        straight to daphne's transport when the socket is open on it."""
        if self.backlog is not None:
            self.backlog.extend(frames)
        elif not self.raw.write(wire):
            for frame in frames:
                await self.send(text_data=frame)

    async def on_viewers(self, event: dict) -> None:
        """Some users' projects changed (`labs.viewers`): this one's?"""
        if self.coordinator_view:
            await self.deliver(*_coordinator_nudge(event))
            return
        for user_id, project_id in event["viewers"]:
            if user_id == self.viewer.user_id:
                self.viewer = replace(self.viewer, project_id=project_id)
                await self.deliver(*_framed({"type": "viewer", "project": project_id}))

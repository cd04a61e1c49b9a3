import contextlib
import json
import logging
from functools import partial

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ValidationError
from django.http import Http404

from chat import presence, realtime, writer
from chat.selectors import message_frame, message_history, room_get_for_user

logger = logging.getLogger(__name__)

FRAME_MAX_BYTES = 16 * 1024
NESTING_MAX = 4


class BadRequest(Exception):
    pass


def _depth(value, level: int = 1) -> int:
    """Return the nesting depth of parsed JSON, stopping past NESTING_MAX."""
    if level > NESTING_MAX or not isinstance(value, dict | list):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level)


def parse_frame(text_data: str) -> dict:
    """Return the client's frame as a dict, or raise BadRequest."""
    try:
        content = json.loads(text_data)
    except (ValueError, RecursionError):
        raise BadRequest("Frames must be JSON objects.") from None
    if not isinstance(content, dict):
        raise BadRequest("Frames must be JSON objects.")
    if _depth(content) > NESTING_MAX:
        raise BadRequest("The frame is nested too deeply.")
    if content.get("type") != "message":
        raise BadRequest('Unknown frame type: send {"type": "message", "text": ...}.')
    if not isinstance(content.get("text"), str):
        raise BadRequest('A message needs "text" as a string.')
    return content


def _history_frame(room) -> str:
    """Return the room's `history` frame, encoded."""
    messages = [message_frame(m) for m in message_history(room=room)]
    return realtime.encode({"type": "history", "messages": messages})


class ChatConsumer(AsyncWebsocketConsumer):
    """A socket in one room: `/ws/chat/<slug>/`, protocol in design.md."""

    room = None
    counted = False  # in the room's presence
    accepted = False
    backlog = None
    presence_sent = None
    closing = False
    protocol = None
    transport = None

    async def connect(self):
        user = self.scope["user"]
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            self.room = await database_sync_to_async(room_get_for_user)(
                user=user, slug=slug
            )
        except Http404:
            await self.close()  # before accept(): HTTP 403 at the handshake
            return
        self.user = user
        self.protocol = realtime.daphne_protocol(self.base_send)
        self.transport = getattr(self.protocol, "transport", None)
        self.raw_send = realtime.unwrap_send(self.base_send)
        self.backlog = []  # fan-out frames wait until history and presence
        try:
            await self.enter(self.room, user)
        except Exception:
            # A database or cache failure: undo what was done and say so
            # (1011) instead of leaving a socket in the fan-out for ever.
            logger.exception("joining room %s failed", self.room.pk)
            await self.leave()
            with contextlib.suppress(Exception):  # the client may be gone
                if not self.accepted:
                    await self.accept()
                await self.close(code=1011)

    async def enter(self, room, user):
        # In the fan-out first, so nothing said after the history is missed.
        version = await realtime.room_join(room.pk, self)
        history = await realtime.room_history(
            room.pk, version, partial(database_sync_to_async(_history_frame), room)
        )
        first = await sync_to_async(presence.join, thread_sensitive=False)(
            room.pk,
            user_id=user.pk,
            name=user.display_name,
            staff=user.is_staff or user.is_superuser,
        )
        self.counted = True
        if first:
            realtime.room_status(
                room.pk, f"{user.display_name} has entered the room.", skip_user=user.pk
            )
        await self.channel_layer.group_add(
            realtime.user_group_name(user.pk), self.channel_name
        )
        await self.accept()
        self.accepted = True
        await self.send(text_data=history)
        self.presence_sent = presence.frame(room.pk)
        await self.send(text_data=self.presence_sent)
        backlog, self.backlog = self.backlog, None
        for is_presence, frame in backlog:
            await (self.deliver_presence if is_presence else self.deliver)(frame)
        if first:
            realtime.presence_changed(room.pk)

    async def websocket_disconnect(self, message):
        # As Channels' own, without its database hop (see `dispatch`): this
        # consumer joins no groups through `groups`.
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        """Take the socket out of the fan-out and the room's presence."""
        if self.room is None:
            return
        room, user = self.room, self.user
        self.room = None
        await realtime.room_leave(room.pk, self)
        await self.channel_layer.group_discard(
            realtime.user_group_name(user.pk), self.channel_name
        )
        if not self.counted:
            return
        self.counted = False
        last = await sync_to_async(presence.leave, thread_sensitive=False)(
            room.pk, user_id=user.pk
        )
        if last:
            realtime.room_status(room.pk, f"{user.display_name} has left the room.")
            realtime.presence_changed(room.pk)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler: a
        # hop to the database thread per event, queued behind the writer's
        # batches and the other sockets' connects. Every handler here reaches
        # the database only through database_sync_to_async (the room lookup,
        # the history, the writer), which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None):
        # Overridden whole: the JSON consumer would raise (and drop the
        # socket) on a binary or non-JSON frame; design.md keeps it open.
        if text_data is None:
            await self.send_error("bad_request", "Send text frames, not binary.")
            return
        if len(text_data) * 4 > FRAME_MAX_BYTES and (
            len(text_data.encode("utf-8", "surrogatepass")) > FRAME_MAX_BYTES
        ):
            await self.send_error("too_long", "That frame is over 16 KiB.")
            return
        try:
            content = parse_frame(text_data)
        except BadRequest as error:
            await self.send_error("bad_request", str(error))
            return
        try:
            await writer.post(author=self.user, room=self.room, text=content["text"])
        except ValidationError as error:
            await self.send_error(
                error.code or "bad_request", error.messages[0], error.params
            )

    async def send_frame(self, frame: dict):
        await self.send(text_data=realtime.encode(frame))

    async def send_error(self, code: str, detail: str, params: dict | None = None):
        frame = {"type": "error", "code": code, "detail": detail}
        if code == "rate_limited" and params:
            frame["retry_after"] = params["retry_after"]
        await self.send_frame(frame)

    # From the process's fan-out (chat.realtime.Hub): frames encoded once.

    @property
    def user_id(self):
        return self.user.pk

    async def deliver(self, frame: str):
        if self.backlog is not None:
            self.backlog.append((False, frame))
            return
        await self.raw_send({"type": "websocket.send", "text": frame})

    def write_wire(self, data: bytes) -> bool:
        """Write frames framed by `realtime.wire_frames` straight to daphne's
        transport; return False (send them one by one) when that can't be
        done: not on daphne, history not sent yet, or the socket not open."""
        protocol = self.protocol
        if (
            self.backlog is not None
            or protocol is None
            or protocol.state != protocol.STATE_OPEN
            or self.transport is None
        ):
            return False
        self.transport.write(data)
        return True

    def unsent_bytes(self) -> int:
        return realtime.unsent_bytes(self.transport) if self.transport else 0

    async def deliver_presence(self, frame: str):
        if self.backlog is not None:
            self.backlog.append((True, frame))
        elif frame != self.presence_sent:
            self.presence_sent = frame
            if not self.write_wire(realtime.wire_frame(frame)):
                await self.deliver(frame)

    # Channel-layer events to this socket's own channel.

    async def socket_close(self, event):
        await self.close(code=event["code"])

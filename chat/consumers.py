import contextlib
import json
import logging
import re

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404

from accounts import revocation
from chat.broadcast import CLOSE_GONE, encode
from chat.hub import ClientGone, hub
from chat.selectors import room_get_for_user
from pairup.internals import RawSocket
from pairup.layer import listener

logger = logging.getLogger(__name__)

FRAME_MAX_BYTES = 16 * 1024
NESTING_MAX = 4


# The optional client reference of a message frame (docs/protocol.md).
REF_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")


class BadRequest(Exception):
    def __init__(self, detail: str, ref: str | None = None):
        super().__init__(detail)
        self.ref = ref  # the frame's valid ref, echoed in the error


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
    ref = content.get("ref")
    if "ref" in content and not (
        isinstance(ref, str) and REF_PATTERN.fullmatch(ref) is not None
    ):
        raise BadRequest('"ref" must be 1 to 32 of A-Z, a-z, 0-9, "_" and "-".')
    if content.get("type") != "message":
        raise BadRequest(
            'Unknown frame type: send {"type": "message", "text": ...}.', ref
        )
    if not isinstance(content.get("text"), str):
        raise BadRequest('A message needs "text" as a string.', ref)
    return content


def _room_if_allowed(*, session_key, user, slug):
    """Return the room if the session still signs the user in and the user
    may enter it, else None (one trip to the database thread)."""
    if not revocation.session_is_valid(session_key=session_key, user_id=user.pk):
        return None
    try:
        return room_get_for_user(user=user, slug=slug)
    except Http404:
        return None


def _may_stay(*, user_id: int, slug: str) -> bool:
    """Return whether the user, as stored now, may still enter the room."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return False
    try:
        room_get_for_user(user=user, slug=slug)
    except Http404:
        return False
    return True


class ChatConsumer(revocation.Revocable, AsyncWebsocketConsumer):
    """A socket in one room: `/ws/chat/<slug>/`, protocol in docs/protocol.md.

    It never reads the channel layer itself: the process's hub and listener
    do (chat/hub.py, pairup/layer.py), and call `deliver`, `revoked` and
    `close` here.
    """

    channel_layer_alias = None  # no layer channel per socket

    user = None
    room = None
    session_key = None
    present = False  # counted in the room's presence (by the hub)
    presence = None  # the presence frame it has (by the hub)
    joined = False  # in the hub's room
    backlog = None  # frames that arrived before the history was sent
    raw = None

    async def connect(self):
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close()  # before accept(): HTTP 403 at the handshake
            return
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        self.raw = RawSocket(self.base_send)
        self.raw.prepare()
        self.backlog = []
        try:
            # Beside the revocation watch, which joins the user's group.
            listener().subscribe_nowait(
                revocation.user_group(user.pk), self.subscription, self.user_event
            )
            await revocation.watch(self, user.pk)
            self.room = await database_sync_to_async(_room_if_allowed)(
                session_key=self.session_key,
                user=user,
                slug=self.scope["url_route"]["kwargs"]["slug"],
            )
            if self.room is not None and not self.refused:
                history, presence = await hub().join(self)  # undone if it fails
                self.joined = True
        except ClientGone:
            await self.leave()
            return
        except Exception:
            # The database, the cache or the layer is away: refuse the
            # handshake (the page retries) and leave nothing behind.
            logger.warning("a socket could not join %s", self.room, exc_info=True)
            await self.leave()
            await self.close()
            return
        if self.room is None or self.refused:
            await self.leave()
            await self.close()
            return
        self.accepting = True
        await self.accept()
        await self.send(text_data=history)
        await self.send(text_data=presence)
        backlog, self.backlog = self.backlog, None
        for frame in backlog:
            await self.send(text_data=frame)

    async def websocket_disconnect(self, message):
        # As Channels' own, without its database hop (see `dispatch`).
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        """Take the socket out of the hub and of its user's group."""
        if self.joined:
            self.joined = False
            await hub().leave(self)
        if self.user is not None:
            with contextlib.suppress(Exception):
                await listener().unsubscribe(
                    revocation.user_group(self.user.pk), self.subscription
                )
            await revocation.unwatch(self, self.user.pk)

    async def check_access(self) -> None:
        """Close the socket (4404) if its room is no longer the user's."""
        if not self.joined or self.closing:
            return
        may_stay = await database_sync_to_async(_may_stay)(
            user_id=self.user.pk, slug=self.room.slug
        )
        if not may_stay and not self.closing:
            self.closing = True
            with contextlib.suppress(Exception):
                await self.close(code=CLOSE_GONE)

    @property
    def subscription(self):
        # Its own key in the user's group, beside the revocation watch.
        return (self, "chat")

    async def user_event(self, event: dict) -> None:
        """A per-user event: a new name, or access to check again
        (chat/broadcast.py); others ignored."""
        if event.get("type") == "chat.access":
            await self.check_access()
            return
        if event.get("type") != "chat.renamed":
            return
        for field, value in event["names"].items():
            setattr(self.user, field, value)  # later messages carry it too
        if self.joined:
            await hub().renamed(self)

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler: a
        # hop to the database thread per event, queued behind the writer's
        # batches and the other sockets' connects. Every handler here reaches
        # the database only through database_sync_to_async, which does that
        # itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data=None, bytes_data=None):
        # Overridden whole: the JSON consumer would raise (and drop the
        # socket) on a binary or non-JSON frame; docs/protocol.md keeps it open.
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
            await self.send_error("bad_request", str(error), ref=error.ref)
            return
        ref = content.get("ref")
        try:
            message = await hub().post(
                author=self.user, room=self.room, text=content["text"]
            )
        except ValidationError as error:
            await self.send_error(
                error.code or "bad_request", error.messages[0], error.params, ref=ref
            )
            return
        if ref is not None:
            # To this socket only: the room's broadcast stays one frame for all.
            await self.send(
                text_data=encode({"type": "sent", "ref": ref, "id": message.pk})
            )

    async def send_error(
        self,
        code: str,
        detail: str,
        params: dict | None = None,
        *,
        ref: str | None = None,
    ):
        frame = {"type": "error", "code": code, "detail": detail}
        if params and "retry_after" in params:
            frame["retry_after"] = params["retry_after"]
        if ref is not None:
            frame["ref"] = ref
        await self.send(text_data=encode(frame))

    # Called by the hub and the listener ---------------------------------

    async def deliver(self, frames: list[str], wire=None) -> None:
        """Send frames; `wire()` gives them framed for the wire, written
        straight to daphne's transport when the socket is open on it."""
        if self.backlog is not None:
            self.backlog.extend(frames)
            return
        if wire is not None and self.raw.write(wire()):
            return
        for frame in frames:
            await self.raw.send({"type": "websocket.send", "text": frame})

    def unsent(self) -> int:
        return self.raw.unsent()

    def gone(self) -> bool:
        return self.raw.gone()

    async def close_slow(self, code: int) -> None:
        self.raw.slow_close()
        await self.close(code=code)

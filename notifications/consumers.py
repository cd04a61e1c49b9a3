"""The per-user socket, `/ws/me/` (server to client only).

It follows the revocation pattern of the other consumers (accounts/
revocation.py): it watches the user's group first, so signing out, a
password change or a deactivation closes it (4401); then it checks the
session and reads the unread count in one database hop. It subscribes to
the same per-user group (`user-<id>`) for the notification events that
`notifications.services` publishes after commit, and has no Channels
layer channel of its own (`channel_layer_alias = None`): the process's
listener (pairup/layer.py) calls it.

Frames: `{"type": "unread", "count": 3}` on connect (a reconnecting page
resyncs with it) and when notifications are marked read elsewhere;
`{"type": "notification", "unread": 4, "notification": {...}}` for each new
notification (`id`, `kind`, `text`, `link`, `created_at`, `read`); and the
frames other apps publish to the user as `page.frame` events (the ballot's
`{"type": "ballot", ...}`), which the bell's script hands to the page.
"""

import contextlib
import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts import revocation
from notifications.models import Notification
from pairup.internals import RawSocket
from pairup.layer import listener

logger = logging.getLogger(__name__)


def _unread_if_signed_in(*, session_key, user_id) -> int | None:
    """Return the user's unread count if the session still signs them in."""
    if not revocation.session_is_valid(session_key=session_key, user_id=user_id):
        return None
    return Notification.objects.unread().filter(user_id=user_id).count()


class MeConsumer(revocation.Revocable, AsyncWebsocketConsumer):
    channel_layer_alias = None  # the process's listener delivers its events

    user = None
    session_key = None
    backlog = None  # frames that arrived before the socket was accepted

    @property
    def subscription(self):
        # Its own key in the user's group, beside the revocation watch.
        return (self, "notifications")

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept(): HTTP 403 at the handshake
            return
        self.user = user
        self.session_key = getattr(self.scope.get("session"), "session_key", None)
        RawSocket(self.base_send).prepare()
        self.backlog = []
        try:
            await revocation.watch(self, user.pk)
            await listener().subscribe(
                revocation.user_group(user.pk), self.subscription, self.event
            )
            unread = await database_sync_to_async(_unread_if_signed_in)(
                session_key=self.session_key, user_id=user.pk
            )
        except Exception:
            logger.warning("a /ws/me/ socket could not join", exc_info=True)
            unread = None
        if unread is None or self.refused:
            await self.leave()
            await self.close()
            return
        self.accepting = True
        await self.accept()
        await self.send_frame({"type": "unread", "count": unread})
        backlog, self.backlog = self.backlog, None
        for frame in backlog:
            await self.send_frame(frame)

    async def disconnect(self, code):
        await self.leave()

    async def leave(self):
        if self.user is None:
            return
        with contextlib.suppress(Exception):
            await listener().unsubscribe(
                revocation.user_group(self.user.pk), self.subscription
            )
        await revocation.unwatch(self, self.user.pk)

    async def receive(self, text_data=None, bytes_data=None):
        await self.send_frame(
            {
                "type": "error",
                "code": "bad_request",
                "detail": "This socket only sends notifications.",
            }
        )

    async def send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    # Called by the listener ---------------------------------------------

    async def event(self, event: dict) -> None:
        """A per-user event: notifications of this app (others ignored)."""
        if event.get("type") == "notification.new":
            frame = {
                "type": "notification",
                "unread": event["unread"],
                "notification": event["notification"],
            }
        elif event.get("type") == "notification.read":
            frame = {"type": "unread", "count": event["unread"]}
        elif event.get("type") == "page.frame":
            # Another app's frame for this user's pages (the ballot's
            # ranking and result: projects/ballot_live.py), passed on as is.
            frame = event["frame"]
        else:
            return
        if self.backlog is not None:
            self.backlog.append(frame)
        elif not self.closing:
            await self.send_frame(frame)

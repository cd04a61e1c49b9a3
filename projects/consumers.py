"""The live lab board socket, `/ws/labs/` (server to client only)."""

import time
from dataclasses import replace

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from projects import board_cache
from projects.realtime import LABS_GROUP, frames_for_viewer
from projects.selectors import viewer_get

# The chat app's per-user group: "socket.close" events sent to it (sign-out,
# password change, deactivation) close every socket the user holds.
CLOSE_REVOKED = 4401


def user_group_name(user_id: int) -> str:
    return f"user-{user_id}"


class LabBoardConsumer(AsyncJsonWebsocketConsumer):
    """Send each user the `lab` frames of design.md as that user may see them.

    The socket holds its user's Viewer (project id, coordinator or not),
    loaded once at connect and updated by `labs.viewers` events; filtering a
    change for this user is `frames_for_viewer`, with no query.
    """

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        self.viewer = await database_sync_to_async(viewer_get)(user=user)
        self.joined = [LABS_GROUP, user_group_name(user.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()  # last, once everything above succeeded

    async def dispatch(self, message):
        # Channels closes stale database connections before every handler: a
        # hop to the one database thread per event per socket (200 boards x
        # 200 bookings = 40,000 hops queued behind the pages being served).
        # Only `connect` reaches the database here, through
        # database_sync_to_async, which does that itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message):
        # As Channels' own, without its database hop (see `dispatch`): this
        # consumer joins its groups itself, not through `groups`.
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def disconnect(self, code):
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

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

    async def labs_update(self, event):  # handles "labs.update"
        board_cache.apply(event)  # the first socket of this process patches
        for frame in frames_for_viewer(event, self.viewer, time.time()):
            await self.send_json(frame)

    async def labs_viewers(self, event):  # handles "labs.viewers"
        for user_id, project_id in event["viewers"]:
            if user_id == self.viewer.user_id:
                self.viewer = replace(self.viewer, project_id=project_id)
                await self.send_json({"type": "viewer", "project": project_id})

    async def socket_close(self, event):  # handles "socket.close"
        await self.close(code=event.get("code", CLOSE_REVOKED))

    async def user_revoke(self, event):  # handles "user.revoke"
        await self.close(code=CLOSE_REVOKED)

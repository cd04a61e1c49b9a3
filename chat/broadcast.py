"""What services and signals send to open chat sockets, after commit.

The synchronous half of the live layer: each function publishes one event
to a room's group, or to a user's (`pairup/layer.py`): the sockets of this
process get it at once, those of other processes through the channel layer.
`chat/hub.py` reads the events; this module imports nothing of it. Never
raises for a layer that is down (the change is committed; open pages
resync on their next join or when the layer is back).

Events (dicts):
- `chat.frames`: `frames`, protocol frames already encoded, in order;
  `history_changed`, whether they change the room's history (a stored or
  deleted message: the hub's shared history is stale then); optionally
  `skip_users` and `queued_at`, one per frame (batched status lines).
- `chat.presence`: a process published its users in the room: rebuild the
  list.
- `chat.close`: close the room's sockets with `code` (only `user`'s when
  given).
- `chat.renamed` (to the user's group): the user's name fields changed:
  `names`, {field: value}; their sockets list and sign them by it.
- `chat.access` (to the user's group): the user may have lost rooms (no
  longer staff, or out of a group): each socket checks its room again and
  closes with 4404 when it is no longer the user's to enter.
"""

import json

from accounts.revocation import user_group
from pairup.layer import publish

CLOSE_GONE = 4404  # the room (its team) was deleted, or the user left it
CLOSE_TOO_SLOW = 4413  # outgoing buffer past its limit


def encode(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def room_group(room_id: int) -> str:
    """Return the room's layer group (from the id: ASCII, never user text)."""
    return f"room-{room_id}"


def messages_stored(room_id: int, frames: list[dict]) -> None:
    """Send newly stored messages (MESSAGE frames, in id order) to the room."""
    publish(
        room_group(room_id),
        {
            "type": "chat.frames",
            "room": room_id,
            "frames": [encode(frame) for frame in frames],
            "history_changed": True,
        },
    )


def message_deleted(room_id: int, message_id: int) -> None:
    publish(
        room_group(room_id),
        {
            "type": "chat.frames",
            "room": room_id,
            "frames": [encode({"type": "deleted", "id": message_id})],
            "history_changed": True,
        },
    )


def room_close(room_id: int, *, code: int = CLOSE_GONE, user_id=None) -> None:
    """Close the room's sockets (only `user_id`'s when given) with `code`."""
    publish(
        room_group(room_id),
        {"type": "chat.close", "room": room_id, "code": code, "user": user_id},
    )


def user_renamed(user_id: int, names: dict) -> None:
    """Tell the user's chat sockets, in every process, their new name fields."""
    publish(user_group(user_id), {"type": "chat.renamed", "names": names})


def user_access_changed(user_id: int) -> None:
    """Have the user's chat sockets, in every process, check their room again."""
    publish(user_group(user_id), {"type": "chat.access"})

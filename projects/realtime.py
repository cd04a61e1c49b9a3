"""Broadcasts of slot changes to the live lab board (`/ws/labs/`).

Frames carry no team names: the board refreshes a slot's row from the
server, so each user sees only what they may see.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from projects.models import BookingWindow, Lab

LABS_GROUP = "labs"


def lab_frames(lab_ids) -> list[dict]:
    """Return the `lab` frame of each slot, as design.md defines it."""
    from projects.selectors import lab_state

    now = timezone.now()
    booking_open = BookingWindow.get().is_booking_open(now)
    labs = Lab.objects.filter(pk__in=set(lab_ids)).select_related("project")
    frames = []
    for lab in labs:
        has_project = getattr(lab, "project", None) is not None
        slot = lab_state(
            lab, has_project=has_project, booking_open=booking_open, now=now
        )
        frames.append(
            {
                "type": "lab",
                "id": lab.pk,
                "available": slot.available,
                "state": slot.state,
            }
        )
    return frames


def broadcast_labs(*, lab_ids) -> None:
    """Send each slot's current state to every open board. Call on commit."""
    lab_ids = [pk for pk in lab_ids if pk is not None]
    if not lab_ids:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    for frame in lab_frames(lab_ids):
        async_to_sync(layer.group_send)(
            LABS_GROUP, {"type": "lab.update", "frame": frame}
        )


def broadcast_all_labs() -> None:
    """Resend every upcoming slot, e.g. after the booking window changed."""
    broadcast_labs(lab_ids=list(Lab.objects.upcoming().values_list("pk", flat=True)))

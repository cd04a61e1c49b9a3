from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from chat.forms import RoomOpenForm
from chat.hub import rooms_users
from chat.selectors import (
    RoomClosed,
    message_frame,
    message_history,
    room_get_for_user,
    room_list_public,
    room_list_teams,
    team_room_for_user,
)
from chat.services import room_mark_joined, room_open, room_slug_for


@login_required
@require_http_methods(["GET", "POST"])
def room_list(request):
    """List public rooms with who is in them; open a room by name (POST)."""
    status = 200
    if request.method == "POST":
        form = RoomOpenForm(request.POST)
        if form.is_valid():
            try:
                room, _created = room_open(
                    name=form.cleaned_data["name"], user=request.user
                )
            except ValidationError as error:
                form.add_error("name", error)
                if error.code == "rate_limited":
                    status = 429
            else:
                return redirect(room)
    else:
        form = RoomOpenForm(initial={"name": request.GET.get("name", "")[:40]})
    rooms = list(room_list_public())
    users = rooms_users([room.pk for room in rooms])
    for room in rooms:
        room.present = users[room.pk]
    return render(
        request,
        "chat/room_list.html",
        {
            "rooms": rooms,
            "form": form,
            "team_room": team_room_for_user(user=request.user),
            "team_rooms": (
                list(room_list_teams()) if request.user.is_coordinator else []
            ),
        },
        status=status,
    )


def _openable(slug: str) -> bool:
    try:
        room_slug_for(slug)
    except ValidationError:
        return False
    return True


def _canonical_room(user, slug: str):
    """The room an address typed otherwise (`/chat/Lobby/`) means, if the
    user may enter it; None otherwise (a 404 that tells nothing)."""
    canonical = slugify(slug)
    if not canonical or canonical == slug:
        return None
    try:
        return room_get_for_user(user=user, slug=canonical)
    except Http404:
        return None


@login_required
@require_GET
def room_detail(request, slug):
    try:
        room = room_get_for_user(user=request.user, slug=slug)
    except RoomClosed:
        # 410 Gone: the room existed and was closed on purpose; unlike a
        # missing room, there is nothing to open here.
        return render(request, "chat/room_closed.html", {"slug": slug}, status=410)
    except Http404:
        canonical = _canonical_room(request.user, slug)
        if canonical is not None:
            return redirect(canonical)
        context = {"slug": slug, "openable": _openable(slug)}
        return render(request, "chat/room_missing.html", context, status=404)
    room_mark_joined(room=room)
    page = {
        "socket_path": f"/ws/chat/{room.slug}/",
        "history_url": reverse("chat:room_history", kwargs={"slug": room.slug}),
        "user_id": request.user.pk,
    }
    return render(request, "chat/room_detail.html", {"room": room, "page": page})


@login_required
@require_GET
def room_history(request, slug):
    """Return JSON: the 50 messages before `?before=<id>`, oldest first."""
    room = room_get_for_user(user=request.user, slug=slug)
    before = request.GET.get("before")
    if before is not None and not (
        before.isascii() and before.isdigit() and len(before) <= 18
    ):
        return JsonResponse({"error": "before must be a message id."}, status=400)
    messages = message_history(room=room, before=int(before) if before else None)
    return JsonResponse({"messages": [message_frame(m) for m in messages]})

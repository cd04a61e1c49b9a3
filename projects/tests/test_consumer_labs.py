import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from accounts.revocation import revoke_user_sockets
from pairup.tests.helpers import session_cookie
from projects import services
from projects.models import BookingWindow
from projects.tests.factories import LabFactory, lab_starting_in, make_team

HOST = b"127.0.0.1"  # WebsocketCommunicator sends no Host of its own
ORIGIN = b"http://127.0.0.1"
pytestmark = pytest.mark.django_db(transaction=True)


async def open_board(user=None, *, origin=ORIGIN):
    """Open `/ws/labs/` through pairup.asgi.application; return (comm, connected)."""
    from pairup.asgi import application

    headers = [(b"host", HOST)]
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/labs/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


def lab_frame(lab, **fields) -> dict:
    """The frame of docs/protocol.md for `lab`, with these fields (the rest: free)."""
    frame = {
        "type": "lab",
        "id": lab.pk,
        "state": "free",
        "available": True,
        "mine": False,
        "team": None,
        "description": None,
        "room": lab.room,
        "start": timezone.localtime(lab.start).isoformat(),
        "end": timezone.localtime(lab.end).isoformat(),
    }
    frame.update(fields)
    return frame


async def test_booking_through_the_service_sends_the_lab_frame(alice, charlie):
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice)
    watcher, connected = await open_board(charlie)
    assert connected

    await sync_to_async(services.lab_book)(user=alice, project=project, lab=lab)

    frame = await watcher.receive_json_from(timeout=2)
    assert frame == lab_frame(lab, state="taken", available=False)
    await watcher.disconnect()


async def test_moving_sends_one_frame_for_both_slots(alice, charlie):
    old = await sync_to_async(LabFactory)()
    new = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice, lab=old)
    watcher, _ = await open_board(charlie)

    await sync_to_async(services.lab_book)(user=alice, project=project, lab=new)

    frame = await watcher.receive_json_from(timeout=2)
    assert frame["type"] == "labs"
    assert {(f["id"], f["state"], f["available"]) for f in frame["labs"]} == {
        (old.pk, "free", True),
        (new.pk, "taken", False),
    }
    assert await watcher.receive_nothing()
    await watcher.disconnect()


async def test_bookings_soon_after_a_write_go_out_together_in_one_frame(
    alice, bob, dana, charlie, monkeypatch
):
    """The boards are written at most once per PACE: the first booking at
    once, the next two (within PACE of it) merged into one frame after."""
    from projects.consumers import Boards

    monkeypatch.setattr(Boards, "PACE", 2.0)  # far longer than two bookings
    first, second, third = [await sync_to_async(LabFactory)() for _ in range(3)]
    teams = [await sync_to_async(make_team)(user) for user in (alice, bob, charlie)]
    watcher, _ = await open_board(dana)

    book = sync_to_async(services.lab_book)
    await book(user=alice, project=teams[0], lab=first)
    assert (await watcher.receive_json_from(timeout=2))["id"] == first.pk
    await book(user=bob, project=teams[1], lab=second)
    await book(user=charlie, project=teams[2], lab=third)

    frame = await watcher.receive_json_from(timeout=5)
    assert frame["type"] == "labs"
    assert {(f["id"], f["state"]) for f in frame["labs"]} == {
        (second.pk, "taken"),
        (third.pk, "taken"),
    }
    assert await watcher.receive_nothing()
    await watcher.disconnect()


async def test_release_inside_the_cutoff_frees_a_slot_that_is_not_bookable(alice, dana):
    lab = await sync_to_async(lab_starting_in)(30)
    project = await sync_to_async(make_team)(alice)
    await sync_to_async(services.lab_book)(user=dana, project=project, lab=lab)
    watcher, _ = await open_board(alice)

    await sync_to_async(services.lab_release)(user=dana, project=project)

    frame = await watcher.receive_json_from(timeout=2)
    assert (frame["state"], frame["available"], frame["mine"]) == ("free", False, False)
    await watcher.disconnect()


async def publish(dana, published: bool) -> None:
    def change():
        window = BookingWindow.get()
        window.schedule_published = published
        services.booking_window_update(
            actor=dana, window=window, fields=["schedule_published"]
        )

    await sync_to_async(change)()


async def test_each_user_gets_only_what_they_may_see(alice, bob, charlie, dana):
    """The team, another student and a coordinator, before and after publishing."""
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice, bob, description="Secret plan")
    team = f"Team {project.pk}: Alice, Bob"
    boards = {}
    for name, user in (("bob", bob), ("charlie", charlie), ("dana", dana)):
        boards[name], connected = await open_board(user)
        assert connected

    await sync_to_async(services.lab_book)(user=alice, project=project, lab=lab)
    booked = {name: await b.receive_json_from(timeout=2) for name, b in boards.items()}
    await publish(dana, True)
    published = {}
    for name, board in boards.items():
        window = await board.receive_json_from(timeout=2)
        assert (window["type"], window["published"]) == ("window", True)
        published[name] = await board.receive_json_from(timeout=2)

    taken = {"state": "taken", "available": False}
    assert booked == {
        "bob": lab_frame(lab, **taken, mine=True, team=team, description="Secret plan"),
        "charlie": lab_frame(lab, **taken),
        "dana": lab_frame(lab, **taken, team=team, description="Secret plan"),
    }
    assert published == {
        "bob": lab_frame(lab, **taken, mine=True, team=team, description="Secret plan"),
        "charlie": lab_frame(lab, **taken, team=team, description="Secret plan"),
        "dana": lab_frame(lab, **taken, team=team, description="Secret plan"),
    }
    for board in boards.values():
        await board.disconnect()


async def test_joining_a_team_tells_the_board_and_shows_the_team_to_the_joiner(
    alice, charlie
):
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice, lab=lab)
    board, _ = await open_board(charlie)

    def join():
        invitation = services.invitation_send(
            user=alice, project=project, invitee_number=charlie.username
        )
        services.invitation_accept(user=charlie, invitation=invitation)

    await sync_to_async(join)()

    viewer = await board.receive_json_from(timeout=2)
    frame = await board.receive_json_from(timeout=2)
    assert viewer == {"type": "viewer", "project": project.pk}
    assert frame["mine"] is True
    assert frame["team"] == f"Team {project.pk}: Alice, Charlie"
    await board.disconnect()


async def test_dissolving_tells_each_member_they_have_no_project(alice, bob):
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice, bob, lab=lab)
    board, _ = await open_board(bob)

    await sync_to_async(services.project_dissolve)(user=alice, project=project)

    viewer = await board.receive_json_from(timeout=2)
    frame = await board.receive_json_from(timeout=2)
    assert viewer == {"type": "viewer", "project": None}
    assert frame == lab_frame(lab)
    await board.disconnect()


async def test_anonymous_is_refused_at_the_handshake():
    communicator, connected = await open_board(None)

    assert connected is False
    await communicator.disconnect()


async def test_foreign_origin_is_refused(alice):
    communicator, connected = await open_board(alice, origin=b"http://evil.example")

    assert connected is False
    await communicator.disconnect()


async def test_client_frames_get_bad_request_and_the_socket_stays(alice):
    communicator, _ = await open_board(alice)

    await communicator.send_to(text_data='{"type": "book", "id": 1}')
    first = await communicator.receive_json_from()
    await communicator.send_to(text_data="not json")
    second = await communicator.receive_json_from()
    await communicator.send_to(bytes_data=b"\x00\x01")
    third = await communicator.receive_json_from()

    for frame in (first, second, third):
        assert frame["type"] == "error"
        assert frame["code"] == "bad_request"
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_signing_out_closes_the_board_with_4401(alice):
    communicator, _ = await open_board(alice)

    await sync_to_async(revoke_user_sockets)(alice.pk)

    output = await communicator.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": 4401}
    await communicator.disconnect()


async def test_revoking_one_user_leaves_other_boards_open(alice, bob):
    mine, _ = await open_board(alice)
    theirs, _ = await open_board(bob)

    await sync_to_async(revoke_user_sockets)(alice.pk)

    assert (await mine.receive_output(timeout=1))["code"] == 4401
    assert await theirs.receive_nothing()
    await mine.disconnect()
    await theirs.disconnect()

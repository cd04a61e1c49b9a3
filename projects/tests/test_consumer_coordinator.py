"""The coordinator page's socket: `/ws/labs/?view=coordinator` nudges the page
once per change ({"type": "coordinator"}), sends it no slot frames, and is
for coordinators only."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from pairup.tests.helpers import session_cookie
from projects import ballot_services, services
from projects.tests.ballot_helpers import open_ballot
from projects.tests.factories import LabFactory, make_team
from projects.tests.test_consumer_labs import HOST, ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


async def open_socket(user, path="/ws/labs/?view=coordinator"):
    from pairup.asgi import application

    cookie = await sync_to_async(session_cookie)(user)
    headers = [
        (b"host", HOST),
        (b"origin", ORIGIN),
        (b"cookie", f"sessionid={cookie}".encode()),
    ]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def test_a_booking_nudges_the_coordinator_page_with_no_slot_frame(alice, dana):
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice)
    page, connected = await open_socket(dana)
    assert connected

    await sync_to_async(services.lab_book)(user=alice, project=project, lab=lab)

    assert await page.receive_json_from(timeout=2) == {
        "type": "coordinator",
        "changed": "slots",
    }
    assert await page.receive_nothing()
    await page.disconnect()


async def test_a_team_forming_nudges_the_coordinator_page(alice, bob, dana):
    page, _ = await open_socket(dana)

    await sync_to_async(make_team)(alice, bob)

    frames = []
    while not await page.receive_nothing(timeout=0.3):
        frames.append(await page.receive_json_from())
    # One nudge per change (Alice's project, then Bob joining), never a slot.
    assert frames == [{"type": "coordinator", "changed": "teams"}] * 2
    await page.disconnect()


async def test_a_student_cannot_open_the_coordinator_socket(alice):
    _, connected = await open_socket(alice)

    assert connected is False


async def test_a_coordinator_board_gets_slot_frames_and_no_nudges(alice, dana):
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice)
    board, connected = await open_socket(dana, "/ws/labs/")
    assert connected

    await sync_to_async(services.lab_book)(user=alice, project=project, lab=lab)

    frame = await board.receive_json_from(timeout=2)
    assert (frame["type"], frame["id"], frame["state"]) == ("lab", lab.pk, "taken")
    assert frame["team"] == f"Team {project.pk}: Alice"  # coordinators see teams
    assert await board.receive_nothing()
    await board.disconnect()


async def test_deactivating_a_student_nudges_the_coordinator_page(charlie, dana):
    """The page's counts and table leave a deactivated student out: a
    coordinator deactivating one in the admin updates open pages."""
    from accounts.services import user_admin_save

    page, connected = await open_socket(dana)
    assert connected

    charlie.is_active = False
    await sync_to_async(user_admin_save)(
        actor=dana, user=charlie, changed=["is_active"]
    )

    assert await page.receive_json_from(timeout=2) == {
        "type": "coordinator",
        "changed": "teams",
    }
    await page.disconnect()


async def test_a_team_ranking_slots_nudges_the_coordinator_page_only(alice, dana):
    """The page's ballot section counts the teams that ranked; the boards
    have nothing to show of a ranking."""
    lab = await sync_to_async(LabFactory)()
    project = await sync_to_async(make_team)(alice)
    await sync_to_async(open_ballot)(actor=dana)
    page, connected = await open_socket(dana)
    board, _ = await open_socket(alice, "/ws/labs/")
    assert connected

    await sync_to_async(ballot_services.ballot_save)(
        user=alice, project=project, lab_ids=[lab.pk]
    )

    assert await page.receive_json_from(timeout=2) == {
        "type": "coordinator",
        "changed": "ballot",
    }
    assert await page.receive_nothing()
    assert await board.receive_nothing()
    await page.disconnect()
    await board.disconnect()


async def test_a_dry_run_and_the_run_nudge_the_coordinator_page(alice, dana):
    await sync_to_async(LabFactory)()
    await sync_to_async(make_team)(alice)  # ranks nothing: the run books nothing
    await sync_to_async(open_ballot)(actor=dana)
    page, connected = await open_socket(dana)
    assert connected

    await sync_to_async(ballot_services.ballot_dry_run)(actor=dana)
    assert await page.receive_json_from(timeout=2) == {
        "type": "coordinator",
        "changed": "ballot",
    }
    await sync_to_async(ballot_services.ballot_run)(actor=dana)
    assert await page.receive_json_from(timeout=2) == {
        "type": "coordinator",
        "changed": "ballot",
    }
    assert await page.receive_nothing()
    await page.disconnect()

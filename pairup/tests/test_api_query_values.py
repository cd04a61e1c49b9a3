"""Query parameters of the API's GETs: an empty value is the parameter left
out (an HTML form with an empty select sends `?day=`); a malformed value
that isn't empty is still a 400 naming it."""

import pytest

from accounts.tests.api_helpers import ApiClient, assert_error
from chat.services import message_post, room_open
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db

STUDENT_QUERIES = [
    "/labs?day=&room=&bookable=&limit=&offset=",
    "/students?q=",
    "/rooms/lobby/messages?before=",
    "/me/notifications?unread=&limit=&offset=",
]
COORDINATOR_QUERIES = [
    "/coordinator/projects?booked=&full=",
    "/coordinator/students?q=&free=&looking=&assign_me=",
]
MALFORMED = [
    ("/labs?day=tomorrow", "day"),
    ("/labs?bookable=perhaps", "bookable"),
    ("/labs?limit=many", "limit"),
    ("/labs?offset=-1", "offset"),
    ("/rooms/lobby/messages?before=last", "before"),
    ("/me/notifications?unread=perhaps", "unread"),
]


@pytest.fixture(autouse=True)
def unit(bob):
    """A room with a message, a slot and a team, so results aren't empty."""
    lobby, _ = room_open(name="Lobby")
    message_post(author=bob, room=lobby, text="hello")
    make_team(bob, lab=LabFactory())
    LabFactory()


def _left_out(path: str) -> str:
    return path.partition("?")[0]


@pytest.mark.parametrize("path", STUDENT_QUERIES)
def test_an_empty_value_is_the_parameter_left_out(alice, path):
    client = ApiClient(alice)

    empty = client.get(path)
    left_out = client.get(_left_out(path))

    assert empty.status_code == 200, empty.content
    assert empty.json() == left_out.json()


@pytest.mark.parametrize("path", COORDINATOR_QUERIES)
def test_an_empty_value_is_left_out_for_coordinators_too(dana, alice, path):
    client = ApiClient(dana)

    empty = client.get(path)
    left_out = client.get(_left_out(path))

    assert empty.status_code == 200, empty.content
    assert empty.json() == left_out.json()


@pytest.mark.parametrize(("path", "field"), MALFORMED)
def test_a_malformed_value_is_still_400_naming_it(alice, path, field):
    body = assert_error(ApiClient(alice).get(path), 400, "invalid")

    assert list(body["errors"]) == [field]

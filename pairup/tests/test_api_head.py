"""HEAD on the API: every GET answers it as GET does, without the body."""

import pytest
from django.test import RequestFactory
from django.urls import resolve

from accounts.tests.api_helpers import API, ApiClient, bearer
from chat.services import room_open
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db

# Path parameters of the GET operations, by name.
PATH_VALUES = {"slug": "lobby"}


def get_paths(client) -> list[str]:
    schema = client.get(f"{API}/openapi.json").json()
    paths = []
    for path, operations in schema["paths"].items():
        if "get" in operations:
            for name, value in PATH_VALUES.items():
                path = path.replace(f"{{{name}}}", value)
            assert "{" not in path, f"no value for a parameter of {path}"
            paths.append(path.removeprefix(API))
    return paths


@pytest.fixture
def unit(alice, bob):
    room_open(name="Lobby")
    make_team(alice, bob, lab=LabFactory())


def test_every_get_answers_head_with_its_status_and_headers(client, unit, alice, dana):
    paths = get_paths(client)
    assert "/labs" in paths
    assert "/coordinator/allocations.csv" in paths
    for path in paths:
        api = ApiClient(dana if path.startswith("/coordinator") else alice)

        got = api.get(path)
        head = api.request("head", path)

        assert head.status_code == got.status_code == 200, (path, head.content)
        assert head["Content-Type"] == got["Content-Type"], path
        assert head.content == b"", path


def test_head_is_answered_without_the_body_by_the_view_itself(alice, unit):
    """Not every server drops a HEAD response's body (the test client does):
    the API sends none, and says how long the GET's would be."""
    headers = bearer(alice)
    factory = RequestFactory()
    match = resolve(f"{API}/labs")

    got = match.func(factory.get(f"{API}/labs", headers=headers), **match.kwargs)
    head = match.func(factory.head(f"{API}/labs", headers=headers), **match.kwargs)

    assert head.status_code == 200
    assert head.content == b""
    assert int(head["Content-Length"]) == len(got.content) > 0


def test_head_of_an_error_keeps_its_status(db):
    response = ApiClient().request("head", "/labs")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_head_where_there_is_no_get_is_405_listing_what_is_allowed(alice):
    response = ApiClient(alice).request("head", "/me/notifications/read")

    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_schema_lists_no_head_operations(client, db):
    schema = client.get(f"{API}/openapi.json").json()

    methods = {
        method for operations in schema["paths"].values() for method in operations
    }
    assert "head" not in methods
    assert "get" in methods

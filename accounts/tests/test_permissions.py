"""The coordinator guard: one refusal for services, views and the API."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.permissions import CoordinatorRequired, require_coordinator
from accounts.tests.api_helpers import ApiClient, assert_error


@pytest.mark.parametrize("who", ["student", "anonymous", "nobody"])
def test_anyone_but_a_coordinator_is_refused_with_the_message(alice, who):
    user = {"student": alice, "anonymous": AnonymousUser(), "nobody": None}[who]

    with pytest.raises(CoordinatorRequired, match=r"^Only coordinators can X\.$"):
        require_coordinator(user, message="Only coordinators can X.")


def test_the_refusal_is_a_permission_denied(alice):
    with pytest.raises(PermissionDenied):
        require_coordinator(alice)


def test_a_coordinator_passes(dana):
    require_coordinator(dana)


def test_a_coordinator_page_answers_a_student_403(client, alice):
    client.force_login(alice)

    assert client.get(reverse("projects:coordinator")).status_code == 403


def test_a_wrong_method_still_answers_405_before_the_guard(client, alice):
    client.force_login(alice)

    response = client.get(reverse("projects:coordinator_ballot_dry_run"))

    assert response.status_code == 405


def test_a_signed_out_visitor_is_sent_to_sign_in_first(client):
    response = client.get(reverse("projects:coordinator"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_the_api_answers_403_forbidden_with_the_guards_message(alice):
    body = assert_error(ApiClient(alice).get("/coordinator/summary"), 403, "forbidden")

    assert body["detail"] == "Only coordinators may do this."

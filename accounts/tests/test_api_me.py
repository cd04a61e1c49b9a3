import pytest
from django.test import Client

from accounts.tests.api_helpers import ApiClient, assert_error


def test_me_shows_the_signed_in_user(alice):
    response = ApiClient(alice).get("/me")

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == alice.username
    assert body["display_name"] == "Alice"
    assert body["is_student"] is True
    assert body["is_coordinator"] is False


def test_me_says_who_is_a_coordinator(dana):
    body = ApiClient(dana).get("/me").json()

    assert body["is_coordinator"] is True
    assert body["is_student"] is False


def test_anonymous_me_gets_401(client):
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")
    assert_error(client.patch("/api/v1/me", "{}", content_type="application/json"), 401)


def test_patch_me_sets_name_email_and_flags(alice):
    assert (alice.looking_for_partner, alice.please_assign_me) == (False, False)

    response = ApiClient(alice).patch(
        "/me",
        {
            "preferred_name": "Ally",
            "email": "ally@example.edu",
            "looking_for_partner": True,
            "please_assign_me": True,
        },
    )

    assert response.status_code == 200
    assert response.json()["display_name"] == "Ally"
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"
    assert alice.email == "ally@example.edu"
    assert alice.looking_for_partner is True
    assert alice.please_assign_me is True
    assert alice.preferred_name_by_student is True


def test_patch_me_keeps_what_it_does_not_mention(alice):
    alice.preferred_name = "Ally"
    alice.looking_for_partner = True
    alice.save()

    response = ApiClient(alice).patch("/me", {"please_assign_me": True})

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"
    assert alice.looking_for_partner is True
    assert alice.please_assign_me is True


def test_patch_me_leaves_an_unchanged_preferred_name_to_the_roster(alice):
    response = ApiClient(alice).patch(
        "/me", {"preferred_name": "", "looking_for_partner": True}
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.looking_for_partner is True
    assert alice.preferred_name_by_student is False


def test_patch_me_can_clear_a_flag(alice):
    alice.looking_for_partner = True
    alice.save()

    ApiClient(alice).patch("/me", {"looking_for_partner": False})

    alice.refresh_from_db()
    assert alice.looking_for_partner is False


def test_patch_me_with_a_null_preferred_name_clears_it_as_the_profile_does(alice):
    """The profile form takes an empty preferred name (the display name is
    then the first name); null says the same."""
    alice.preferred_name = "Ally"
    alice.save(update_fields=["preferred_name"])

    response = ApiClient(alice).patch("/me", {"preferred_name": None})

    assert response.status_code == 200, response.content
    assert response.json()["preferred_name"] == ""
    assert response.json()["display_name"] == "Alice"
    alice.refresh_from_db()
    assert alice.preferred_name == ""


@pytest.mark.parametrize("field", ["email", "looking_for_partner", "please_assign_me"])
def test_patch_me_with_null_for_a_field_the_profile_requires_gets_400_naming_it(
    alice, field
):
    """The profile has no empty email and a flag is on or off: null is
    refused, not ignored, and nothing changes."""
    alice.looking_for_partner = True
    alice.save(update_fields=["looking_for_partner"])
    email = alice.email

    response = ApiClient(alice).patch("/me", {field: None, "preferred_name": "X"})

    body = assert_error(response, 400, "invalid")
    assert list(body["errors"]) == [field]
    alice.refresh_from_db()
    assert (alice.preferred_name, alice.email) == ("", email)
    assert (alice.looking_for_partner, alice.please_assign_me) == (True, False)


def test_invalid_email_gets_400_with_the_field_and_changes_nothing(alice):
    email = alice.email

    response = ApiClient(alice).patch(
        "/me", {"email": "not-an-email", "preferred_name": "X"}
    )

    body = assert_error(response, 400, "invalid")
    assert "email" in body["errors"]
    alice.refresh_from_db()
    assert alice.email == email
    assert alice.preferred_name == ""


def test_empty_email_gets_400(alice):
    body = assert_error(ApiClient(alice).patch("/me", {"email": ""}), 400)

    assert "email" in body["errors"]


def test_wrong_types_get_400_with_the_field(alice):
    response = ApiClient(alice).patch("/me", {"looking_for_partner": "perhaps"})

    body = assert_error(response, 400, "invalid")
    assert "looking_for_partner" in body["errors"]


def test_nul_character_gets_400_not_500(alice):
    response = ApiClient(alice).patch("/me", {"preferred_name": "A\x00B"})

    body = assert_error(response, 400)
    assert "preferred_name" in body["errors"]


def test_session_user_reads_without_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.get("/api/v1/me")

    assert response.status_code == 200


def test_session_user_needs_csrf_to_change(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.patch(
        "/api/v1/me", '{"preferred_name": "Ally"}', content_type="application/json"
    )

    assert_error(response, 403, "csrf_failed")
    alice.refresh_from_db()
    assert alice.preferred_name == ""


def test_session_user_with_csrf_token_may_change(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/accounts/profile/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value

    response = client.patch(
        "/api/v1/me",
        '{"preferred_name": "Ally"}',
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"


def test_staff_setting_a_student_flag_gets_400_naming_it(dana):
    response = ApiClient(dana).patch(
        "/me", {"preferred_name": "Dee", "please_assign_me": True}
    )

    body = assert_error(response, 400, "invalid")
    assert list(body["errors"]) == ["please_assign_me"]
    assert "students" in body["detail"]
    dana.refresh_from_db()
    assert (dana.preferred_name, dana.please_assign_me) == ("", False)


def test_staff_may_send_back_the_flags_unchanged(dana):
    me = ApiClient(dana).get("/me").json()

    response = ApiClient(dana).patch(
        "/me",
        {
            "preferred_name": "Dee",
            "looking_for_partner": me["looking_for_partner"],
            "please_assign_me": me["please_assign_me"],
        },
    )

    assert response.status_code == 200
    dana.refresh_from_db()
    assert dana.preferred_name == "Dee"

import pytest
from django.urls import reverse

URL = "/accounts/profile/"
CHANGES = {
    "preferred_name": "Ally",
    "email": "ally@example.edu",
    "looking_for_partner": "on",
    "please_assign_me": "on",
}


def test_profile_url_is_the_designed_one():
    assert reverse("profile") == URL


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={URL}"


@pytest.mark.django_db
def test_profile_page_shows_the_editable_fields(
    client, alice, django_assert_num_queries
):
    client.force_login(alice)

    # session, user, the user's API tokens, the bell's unread count, the
    # email choices and the calendar feed (notifications' profile section)
    with django_assert_num_queries(6):
        response = client.get(URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == [
        "preferred_name",
        "email",
        "looking_for_partner",
        "please_assign_me",
    ]
    assert "20000001" in response.text
    assert 'value="20000001@student.example.edu"' in response.text


@pytest.mark.django_db
def test_student_edits_name_email_and_both_flags(client, alice):
    assert (
        alice.preferred_name,
        alice.looking_for_partner,
        alice.please_assign_me,
    ) == (
        "",
        False,
        False,
    )
    client.force_login(alice)

    response = client.post(URL, CHANGES)

    assert response.status_code == 302
    assert response.url == URL
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"
    assert alice.email == "ally@example.edu"
    assert alice.looking_for_partner is True
    assert alice.please_assign_me is True
    assert alice.preferred_name_by_student is True
    assert alice.display_name == "Ally"
    assert "Your profile was saved." in client.get(URL).text


@pytest.mark.django_db
def test_student_clears_the_flags(client, alice):
    alice.looking_for_partner = alice.please_assign_me = True
    alice.save(update_fields=["looking_for_partner", "please_assign_me"])
    client.force_login(alice)

    client.post(URL, {"preferred_name": "", "email": alice.email})

    alice.refresh_from_db()
    assert alice.looking_for_partner is False
    assert alice.please_assign_me is False
    assert alice.display_name == "Alice"


@pytest.mark.django_db
def test_saving_only_a_flag_leaves_the_preferred_name_to_the_roster(client, alice):
    client.force_login(alice)

    response = client.post(
        URL, {"preferred_name": "", "email": alice.email, "looking_for_partner": "on"}
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.looking_for_partner is True
    assert alice.preferred_name_by_student is False


@pytest.mark.django_db
def test_bad_email_keeps_what_was_typed_and_changes_nothing(client, alice):
    client.force_login(alice)

    response = client.post(URL, {**CHANGES, "email": "not-an-address"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.text
    assert 'value="Ally"' in response.text
    assert 'value="not-an-address"' in response.text
    alice.refresh_from_db()
    assert alice.preferred_name == ""
    assert alice.email == "20000001@student.example.edu"


@pytest.mark.django_db
def test_a_failed_save_leaves_the_navbar_name_alone(client, alice):
    client.force_login(alice)

    response = client.post(URL, {**CHANGES, "email": "ally@campus"})

    assert response.status_code == 200
    assert "Enter a valid email address." in response.text
    assert response.context["user"].display_name == "Alice"
    assert 'data-testid="nav-user">Alice<' in response.text


@pytest.mark.django_db
def test_profile_cannot_change_the_number_or_names(client, alice):
    client.force_login(alice)

    client.post(URL, {**CHANGES, "username": "29999999", "first_name": "Mallory"})

    alice.refresh_from_db()
    assert alice.username == "20000001"
    assert alice.first_name == "Alice"


@pytest.mark.django_db
def test_profile_refuses_other_methods(client, alice):
    client.force_login(alice)

    response = client.delete(URL)

    assert response.status_code == 405


@pytest.mark.django_db
def test_staff_profile_has_no_student_flags_and_labels_the_username(client, dana):
    client.force_login(dana)

    response = client.get(URL)

    assert list(response.context["form"].fields) == ["preferred_name", "email"]
    assert "looking for a partner" not in response.text.lower()
    assert "please assign me" not in response.text.lower()
    assert "Student number" not in response.text
    assert '<dt class="col-sm-4">Username</dt>' in response.text
    assert "with your username and password" in response.text


@pytest.mark.django_db
def test_a_staff_save_keeps_the_stored_flags(client, dana):
    dana.looking_for_partner = True
    dana.save(update_fields=["looking_for_partner"])
    client.force_login(dana)

    response = client.post(URL, {**CHANGES, "looking_for_partner": ""})

    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.preferred_name == "Ally"
    assert dana.looking_for_partner is True
    assert dana.please_assign_me is False

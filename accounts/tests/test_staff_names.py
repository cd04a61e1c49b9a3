"""A student's name can't pose as a coordinator (issue 14, item 9): the words
of the staff badge are refused on registration, the profile, PATCH /me and
the roster import. Nor can any name hold a line break, a tab or another
control character."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from accounts.tests.api_helpers import ApiClient, assert_error
from accounts.validators import (
    staff_word_in,
    validate_name_characters,
    validate_not_staff_name,
)

POSING = [
    "Casey (coordinator)",
    "Casey Coordinator",
    "CaseyCoordinator",
    "COORDINATOR",
    "co-ordinator",
    "c.o.o.r.d.i.n.a.t.o.r",
    "Co\u00f6rdinator",  # with a diaeresis
    "Co\u200bordinator",  # with a zero-width space
    "C\u043e\u043erdinator",  # with Cyrillic o's
    "\uff23\uff4f\uff4f\uff52\uff44\uff49\uff4e\uff41\uff54\uff4f\uff52",  # fullwidth
    "C00rdinator",
    "Staff",
    "Pat (staff)",
    "Admin",
    "Adm1n",
    "the admins",
    "Administrator",
    "Moderator",
    "Mod",
    "Superuser",
]
CONTROL = [
    "Al\r\nice",
    "Al\nice",
    "Al\tice",
    "Al\x00ice",
    "Al\x07ice",
    "Al\x7fice",
    "Al\u2028ice",
    "Al\u202eice",  # right-to-left override
    "Al\u2066ice",  # left-to-right isolate
]
CONTROL_MESSAGE = "Names can't contain line breaks, tabs or other control characters."
FINE = [
    "Casey",
    "Stafford",
    "Badminton",
    "Admiral",
    "Modesto",
    "José",
    "Ann-Marie",
    "",
    "\u05d3\u05e0\u05d4 \u05db\u05d4\u05df",  # Hebrew: right to left needs no control
    "Dana\u200f",  # a right-to-left mark
]


@pytest.mark.parametrize("name", POSING)
def test_names_with_a_staff_word_are_refused(name):
    assert staff_word_in(name) is not None
    with pytest.raises(ValidationError) as refused:
        validate_not_staff_name(name)
    assert "that word marks coordinators" in refused.value.messages[0]


@pytest.mark.parametrize("name", FINE)
def test_names_that_only_contain_the_letters_pass(name):
    assert staff_word_in(name) is None
    validate_not_staff_name(name)


@pytest.mark.parametrize("name", CONTROL)
def test_names_with_a_control_character_are_refused(name):
    with pytest.raises(ValidationError) as refused:
        validate_name_characters(name)
    assert refused.value.messages == [CONTROL_MESSAGE]


@pytest.mark.parametrize("name", FINE)
def test_names_without_control_characters_pass(name):
    validate_name_characters(name)


# Registration --------------------------------------------------------------

REGISTER = {
    "username": "21234567",
    "first_name": "Casey",
    "last_name": "Cole",
    "preferred_name": "",
    "email": "casey@student.example.edu",
    "password1": "lantern-quiet-meadow-42",
    "password2": "lantern-quiet-meadow-42",
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("preferred_name", "Casey (coordinator)"),
        ("first_name", "Admin"),
        ("last_name", "Staff"),
    ],
)
def test_registration_refuses_a_name_posing_as_staff(client, settings, field, value):
    settings.PAIRUP_REGISTRATION = "open"

    response = client.post("/accounts/register/", {**REGISTER, field: value})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [
        f"Names can't contain “{staff_word_in(value)}”: that word marks "
        "coordinators, and only their accounts carry it."
    ]
    assert f'value="{value}"' in response.text  # what was typed stays
    assert not User.objects.filter(username="21234567").exists()


@pytest.mark.django_db
def test_registration_takes_a_name_like_stafford(client, settings):
    settings.PAIRUP_REGISTRATION = "open"

    response = client.post("/accounts/register/", {**REGISTER, "last_name": "Stafford"})

    assert response.status_code == 302
    assert User.objects.get(username="21234567").last_name == "Stafford"


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["first_name", "last_name", "preferred_name"])
def test_registration_refuses_a_name_with_a_line_break(client, settings, field):
    settings.PAIRUP_REGISTRATION = "open"

    response = client.post("/accounts/register/", {**REGISTER, field: "Ca\r\nsey"})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [CONTROL_MESSAGE]
    assert not User.objects.filter(username="21234567").exists()


# Profile and API -----------------------------------------------------------


@pytest.mark.django_db
def test_profile_refuses_a_preferred_name_posing_as_staff(client, alice):
    client.force_login(alice)

    response = client.post(
        "/accounts/profile/",
        {"preferred_name": "Alice (Coordinator)", "email": alice.email},
    )

    assert response.status_code == 200
    assert "that word marks coordinators" in response.text
    alice.refresh_from_db()
    assert alice.preferred_name == ""


@pytest.mark.django_db
def test_an_older_name_never_blocks_saving_the_rest(client, alice):
    User.objects.filter(pk=alice.pk).update(preferred_name="Admin Al")
    client.force_login(alice)

    response = client.post(
        "/accounts/profile/",
        {"preferred_name": "Admin Al", "email": "new@example.edu"},
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.email == "new@example.edu"


@pytest.mark.django_db
def test_a_coordinator_may_call_themself_coordinator(client, dana):
    client.force_login(dana)

    response = client.post(
        "/accounts/profile/",
        {"preferred_name": "Dana (coordinator)", "email": dana.email},
    )

    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.preferred_name == "Dana (coordinator)"


@pytest.mark.django_db
@pytest.mark.parametrize("user", ["alice", "dana"])
def test_profile_refuses_a_preferred_name_with_a_line_break(client, request, user):
    user = request.getfixturevalue(user)
    client.force_login(user)

    response = client.post(
        "/accounts/profile/",
        {"preferred_name": "Al\r\nice", "email": user.email},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["preferred_name"] == [CONTROL_MESSAGE]
    user.refresh_from_db()
    assert user.preferred_name == ""


@pytest.mark.django_db
def test_patch_me_refuses_a_preferred_name_with_a_tab(alice):
    response = ApiClient(alice).patch("/me", {"preferred_name": "Al\tice"})

    body = assert_error(response, 400, "invalid")
    assert body["errors"]["preferred_name"] == [CONTROL_MESSAGE]
    alice.refresh_from_db()
    assert alice.preferred_name == ""


@pytest.mark.django_db
def test_patch_me_refuses_a_preferred_name_posing_as_staff(alice):
    response = ApiClient(alice).patch("/me", {"preferred_name": "Casey Staff"})

    body = assert_error(response, 400, "invalid")
    assert "that word marks coordinators" in body["errors"]["preferred_name"][0]
    alice.refresh_from_db()
    assert alice.preferred_name == ""


# Roster import -------------------------------------------------------------


@pytest.mark.django_db
def test_roster_rows_with_a_name_posing_as_staff_are_rejected_with_the_reason(
    tmp_path,
):
    path = tmp_path / "roster.csv"
    path.write_text(
        "student_number,first_name,last_name,preferred_name,email\n"
        "20000010,Ann,Lee,,ann@example.edu\n"
        "20000011,Casey,Cole,Casey (coordinator),casey@example.edu\n"
        "20000012,Admin,Smith,,a@example.edu\n"
        "20000013,Pat,Stafford,,pat@example.edu\n"
    )
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_students", str(path), stdout=out)

    text = out.getvalue()
    assert (
        "Line 3: rejected: preferred_name 'Casey (coordinator)' contains "
        "'coordinator', a word kept for coordinators." in text
    )
    assert "Line 4: rejected: first_name 'Admin' contains 'admin'" in text
    assert set(User.objects.values_list("username", flat=True)) == {
        "20000010",
        "20000013",
    }


@pytest.mark.django_db
def test_roster_rows_with_a_control_character_in_a_name_are_rejected(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(
        "student_number,first_name,last_name,preferred_name,email\n"
        "20000010,Ann,Lee,,ann@example.edu\n"
        "20000011,Casey,Cole,Ca\tsey,casey@example.edu\n"
        '20000012,"Pa\nt",Stone,,pat@example.edu\n'
    )
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_students", str(path), stdout=out)

    text = out.getvalue()
    assert (
        "Line 3: rejected: preferred_name 'Ca\\tsey' contains a control "
        "character (a line break, tab or the like)." in text
    )
    assert "rejected: first_name 'Pa\\nt' contains a control character" in text
    assert set(User.objects.values_list("username", flat=True)) == {"20000010"}


# The admin ------------------------------------------------------------------
# Its forms are the model's: a forged POST gets the same refusal as the
# students' own forms.

ADMIN_CONTROL = ["Al\x07ice", "Al\u202eice", "Al\tice"]


def _user_admin_post(client, user, **names):
    data = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "preferred_name": user.preferred_name,
        "email": user.email,
        "is_active": "on",
        **names,
    }
    return client.post(f"/admin/accounts/user/{user.pk}/change/", data)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["first_name", "last_name", "preferred_name"])
@pytest.mark.parametrize("name", ADMIN_CONTROL)
def test_user_admin_refuses_a_name_with_a_control_character(
    client, dana, alice, field, name
):
    before = (alice.first_name, alice.last_name, alice.preferred_name)
    client.force_login(dana)

    response = _user_admin_post(client, alice, **{field: name})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [CONTROL_MESSAGE]
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name, alice.preferred_name) == before


@pytest.mark.django_db
def test_user_admin_refuses_a_nul_character_too(client, dana, alice):
    client.force_login(dana)

    response = _user_admin_post(client, alice, first_name="Al\x00ice")

    assert response.status_code == 200
    assert "first_name" in response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


@pytest.mark.django_db
def test_user_admin_still_saves_a_plain_name(client, dana, alice):
    client.force_login(dana)

    response = _user_admin_post(client, alice, preferred_name="Ali")

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.preferred_name == "Ali"


@pytest.mark.django_db
def test_user_admin_add_form_refuses_a_name_with_a_control_character(client, dana):
    client.force_login(dana)

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "20009999",
            "first_name": "Nia",
            "last_name": "N\u202eew",
            "email": "nia@student.example.edu",
            "usable_password": "false",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["last_name"] == [CONTROL_MESSAGE]
    assert not User.objects.filter(username="20009999").exists()


@pytest.mark.django_db
def test_superusers_user_admin_refuses_a_name_with_a_control_character(
    client, admin_user, dana
):
    client.force_login(admin_user)

    response = _user_admin_post(
        client,
        dana,
        username=dana.username,
        first_name="Da\x07na",
        is_staff="on",
        date_joined_0="2026-01-01",
        date_joined_1="09:00:00",
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["first_name"] == [CONTROL_MESSAGE]
    dana.refresh_from_db()
    assert dana.first_name == "Dana"

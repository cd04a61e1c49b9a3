"""What a coordinator may change about accounts in the admin (issue 14, item 1).

Driven through the admin's own pages as a member of the Coordinators group:
the form offers only what the unit needs, a forged POST changes nothing
else, staff accounts are view-only, and a superuser can still do anything.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.test import Client

from accounts.models import COORDINATORS_GROUP, User
from accounts.services import user_admin_save
from accounts.tests.factories import PASSWORD, CoordinatorFactory

pytestmark = pytest.mark.django_db

PRIVILEGED = ("is_superuser", "is_staff", "groups", "user_permissions")
NEW_PASSWORD = "a-new-long-password-42"


def change_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/change/"


def password_url(user) -> str:
    return f"/admin/accounts/user/{user.pk}/password/"


@pytest.fixture
def coordinator_client(dana):
    assert dana.groups.filter(name=COORDINATORS_GROUP).exists()
    assert not dana.is_superuser
    client = Client()
    client.force_login(dana)
    return client


@pytest.fixture
def superuser_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def forged(user, **extra) -> dict:
    """A coordinator's change form for `user`, with privileged fields added."""
    coordinators = Group.objects.get(name=COORDINATORS_GROUP)
    any_permission = Permission.objects.get(codename="delete_user")
    return {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "preferred_name": user.preferred_name,
        "is_superuser": "on",
        "is_staff": "on",
        "groups": [str(coordinators.pk)],
        "user_permissions": [str(any_permission.pk)],
        **extra,
    }


def assert_unprivileged(user):
    user.refresh_from_db()
    assert not user.is_superuser
    assert not user.groups.exclude(name=COORDINATORS_GROUP).exists()
    assert not user.user_permissions.exists()


# The change form ------------------------------------------------------------


def test_coordinator_change_form_offers_only_what_the_unit_needs(
    coordinator_client, alice
):
    response = coordinator_client.get(change_url(alice))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert sorted(form.fields) == sorted(
        [
            "password",  # the read-only hash with its "Reset password" link
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "is_active",
            "looking_for_partner",
            "please_assign_me",
        ]
    )
    for name in PRIVILEGED:
        assert f'name="{name}"' not in response.text
    assert 'name="username"' not in response.text  # the number is read-only
    assert "20000001" in response.text


def test_forged_privileges_on_a_student_change_nothing_but_the_names(
    coordinator_client, alice
):
    response = coordinator_client.post(
        change_url(alice), forged(alice, first_name="Alicia")
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.first_name == "Alicia"
    assert not alice.is_staff
    assert not alice.groups.exists()
    assert_unprivileged(alice)


def test_coordinator_cannot_make_themself_superuser(coordinator_client, dana):
    response = coordinator_client.post(change_url(dana), forged(dana))

    assert response.status_code == 403
    assert_unprivileged(dana)


def test_coordinator_edits_a_students_profile_fields(coordinator_client, alice):
    data = forged(alice, preferred_name="Al", looking_for_partner="on")
    data.pop("is_active")

    response = coordinator_client.post(change_url(alice), data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.preferred_name, alice.looking_for_partner) == ("Al", True)
    assert alice.is_active is False


def test_coordinator_sees_a_staff_account_but_cannot_change_it(
    coordinator_client, admin_user
):
    page = coordinator_client.get(change_url(admin_user))
    response = coordinator_client.post(
        change_url(admin_user), {**forged(admin_user), "is_active": ""}
    )

    assert page.status_code == 200
    for name in ("first_name", "email", "is_active", *PRIVILEGED):
        assert f'name="{name}"' not in page.text
    assert admin_user.email in page.text  # shown, read-only
    assert "../password/" not in page.text
    assert response.status_code == 403
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_coordinator_cannot_deactivate_another_coordinator(coordinator_client):
    other = CoordinatorFactory(username="ed")

    response = coordinator_client.post(change_url(other), {"first_name": "Ed"})

    assert response.status_code == 403
    other.refresh_from_db()
    assert other.is_active
    assert other.first_name != "Ed"


# Passwords ------------------------------------------------------------------


@pytest.mark.parametrize("target", ["admin_user", "dana", "other_coordinator"])
def test_a_staff_accounts_password_page_is_refused(coordinator_client, request, target):
    if target == "other_coordinator":
        user = CoordinatorFactory(username="ed")
    else:
        user = request.getfixturevalue(target)

    page = coordinator_client.get(password_url(user))
    response = coordinator_client.post(
        password_url(user),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )

    assert page.status_code == 403
    assert response.status_code == 403
    user.refresh_from_db()
    assert not user.check_password(NEW_PASSWORD)


def test_coordinator_sets_a_students_password(coordinator_client, alice):
    response = coordinator_client.post(
        password_url(alice),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


# Adding ---------------------------------------------------------------------


def test_coordinator_adds_a_student_never_a_staff_account(coordinator_client):
    response = coordinator_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "20009999",
            "first_name": "Nia",
            "last_name": "New",
            "email": "nia@student.example.edu",
            "usable_password": "false",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [str(Group.objects.get(name=COORDINATORS_GROUP).pk)],
        },
    )

    assert response.status_code == 302
    nia = User.objects.get(username="20009999")
    assert (nia.first_name, nia.email) == ("Nia", "nia@student.example.edu")
    assert not nia.has_usable_password()  # she sets it with the reset link
    assert not nia.is_staff
    assert not nia.groups.exists()
    assert_unprivileged(nia)


def test_add_form_asks_for_number_names_email_and_password(coordinator_client):
    response = coordinator_client.get("/admin/accounts/user/add/")

    assert response.status_code == 200
    for name in ("username", "first_name", "last_name", "email", "password1"):
        assert f'name="{name}"' in response.text
    for name in PRIVILEGED:
        assert f'name="{name}"' not in response.text


# The save path, below the form ---------------------------------------------


@pytest.mark.parametrize("field", ["is_superuser", "is_staff", "groups", "username"])
def test_user_admin_save_refuses_a_coordinator_any_other_field(dana, alice, field):
    if field in ("is_superuser", "is_staff"):
        setattr(alice, field, True)
    with pytest.raises(PermissionDenied):
        user_admin_save(actor=dana, user=alice, changed=[field])

    assert_unprivileged(alice)
    assert not alice.is_staff


def test_user_admin_save_refuses_a_coordinator_a_staff_account(dana, admin_user):
    admin_user.is_superuser = False  # as a forged form would have it
    admin_user.is_staff = False
    with pytest.raises(PermissionDenied):
        user_admin_save(actor=dana, user=admin_user, changed=["first_name"])

    admin_user.refresh_from_db()
    assert admin_user.is_superuser


def test_user_admin_save_refuses_a_student(alice, bob):
    with pytest.raises(PermissionDenied):
        user_admin_save(actor=alice, user=bob, changed=["first_name"])


# A superuser keeps every power ---------------------------------------------


def test_superuser_grants_superuser_staff_and_groups(superuser_client, alice):
    page = superuser_client.get(change_url(alice))
    data = {
        **forged(alice),
        "username": "coordalice",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
    }

    response = superuser_client.post(change_url(alice), data)

    for name in PRIVILEGED:
        assert f'name="{name}"' in page.text
    assert response.status_code == 302, response.context["adminform"].form.errors
    alice.refresh_from_db()
    assert alice.is_superuser and alice.is_staff
    assert alice.groups.filter(name=COORDINATORS_GROUP).exists()
    assert alice.user_permissions.filter(codename="delete_user").exists()


def test_superuser_sets_a_coordinators_password(superuser_client, dana):
    response = superuser_client.post(
        password_url(dana),
        {
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "usable_password": "true",
        },
    )

    assert response.status_code == 302
    dana.refresh_from_db()
    assert dana.check_password(NEW_PASSWORD)
    assert not dana.check_password(PASSWORD)

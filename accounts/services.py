from django.contrib.auth import get_user_model
from django.db import transaction

User = get_user_model()


@transaction.atomic
def user_register(
    *,
    username: str,
    password: str,
    first_name: str,
    last_name: str,
    email: str,
    preferred_name: str = "",
) -> User:
    """Create a student account with a usable password."""
    user = User(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        preferred_name=preferred_name,
        preferred_name_by_student=bool(preferred_name),
    )
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def profile_update(
    *,
    user: User,
    preferred_name: str,
    email: str,
    looking_for_partner: bool,
    please_assign_me: bool,
) -> User:
    fields = {
        "preferred_name": preferred_name,
        "email": email,
        "looking_for_partner": looking_for_partner,
        "please_assign_me": please_assign_me,
    }
    for name, value in fields.items():
        setattr(user, name, value)
    user.preferred_name_by_student = True
    user.full_clean(exclude=["password"])
    user.save(update_fields=[*fields, "preferred_name_by_student"])
    return user

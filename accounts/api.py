"""JSON API of accounts: tokens, and the signed-in user's profile.

Scripts get a bearer token from their student number and password (HTTP
Basic); the site's own pages use the session, with CSRF on every unsafe
method. Sign-in throttling (django-axes) counts failed token requests like
failed sign-ins, and a locked (number, address) pair gets 429.
"""

import binascii
from base64 import b64decode
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.security import APIKeyCookie, HttpBasicAuth, HttpBearer
from ninja.utils import check_csrf
from pydantic import Field

from accounts.forms import STUDENT_FLAGS, ProfileForm, profile_flags_refused
from accounts.selectors import api_token_get
from accounts.services import api_token_create, api_token_revoke, profile_update
from accounts.throttle import login_address_message, login_address_retry_after
from notifications import calendar
from pairup.api_errors import ApiError, Text, error_responses

router = Router(tags=["accounts"])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


# Authentication ---------------------------------------------------------


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <token>` from `POST /tokens`."""

    def authenticate(self, request, token):
        api_token = api_token_get(key=token.strip())
        if api_token is None:
            return None
        request.api_token = api_token
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The site's own session; unsafe methods need the CSRF token too.

    Unlike django-ninja's `django_auth`, CSRF is checked only once a user is
    signed in, so an anonymous request gets 401, not a CSRF 403.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        user = request.user
        if not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request):
            raise ApiError(
                403,
                "csrf_failed",
                "CSRF check failed: send the csrftoken cookie's value in the "
                "X-CSRFToken header, or use a bearer token.",
            )
        return user


class PasswordAuth(HttpBasicAuth):
    """HTTP Basic with student number and password, throttled by django-axes."""

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        username, sep, password = decoded.partition(":")
        if not sep or not username or "\x00" in decoded:
            return None
        return self.authenticate(request, username, password)

    def authenticate(self, request, username, password):
        # Before any password is hashed: one address trying number after
        # number is refused once it has used up its failed sign-ins.
        retry_after = login_address_retry_after(request)
        if retry_after is not None:
            raise ApiError(
                429,
                "throttled",
                login_address_message(retry_after),
                headers={"Retry-After": str(retry_after)},
            )
        # Through django.contrib.auth, so axes sees the attempt: it refuses a
        # locked pair and counts a failure as it does for the sign-in page.
        user = authenticate(request=request, username=username, password=password)
        if getattr(request, "axes_locked_out", False):
            # AxesMiddleware would swap our answer for its HTML page.
            request.axes_locked_out = False
            minutes = settings.PAIRUP_LOGIN_COOLOFF_MINUTES
            raise ApiError(
                429,
                "locked_out",
                f"Too many failed sign-ins for this student number from your "
                f"address. Try again in {minutes} minutes.",
                headers={"Retry-After": str(minutes * 60)},
            )
        if user is not None:
            # A token is a sign-in without a session: axes clears the pair's
            # failures as it does when the sign-in page logs the user in.
            AxesProxyHandler.user_logged_in(
                sender=type(self), request=request, user=user
            )
        return user


# Schemas ------------------------------------------------------------------


class TokenOut(Schema):
    token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme's name)
    expires_at: datetime


class MeOut(Schema):
    id: int
    username: str
    first_name: str
    last_name: str
    preferred_name: str
    display_name: str
    email: str
    looking_for_partner: bool
    please_assign_me: bool
    is_student: bool
    is_coordinator: bool
    calendar_url: str | None = Field(
        None,
        description="your calendar feed's secret address (create it on the "
        "profile page), or null",
    )

    @staticmethod
    def resolve_calendar_url(user):
        return calendar.feed_url(calendar.feed_for_user(user))


class MePatch(Schema):
    """What to change; a field left out keeps its value."""

    # Null clears it, as an empty field on the profile page does.
    preferred_name: Text | None = Field(None, description='null or "" clears it')
    # The profile requires an email and a flag is on or off: these take no
    # null (400 naming the field), though they may be left out.
    email: Text = None
    looking_for_partner: bool = None
    please_assign_me: bool = None


# Endpoints ----------------------------------------------------------------


@router.post(
    "/tokens",
    auth=PasswordAuth(),
    response={201: TokenOut, **error_responses(400, 401, 429)},
    summary="Get a bearer token (HTTP Basic: student number and password)",
)
def token_create(request):
    user = request.auth
    # Asked for from a page signed in as the same user: the token belongs to
    # that session, and signing out revokes it.
    session_user = getattr(request, "user", None)
    session_key = (
        request.session.session_key
        if session_user is not None and session_user.pk == user.pk
        else ""
    )
    token, key = api_token_create(user=user, session_key=session_key)
    return Status(
        201, {"token": key, "expires_at": timezone.localtime(token.expires_at)}
    )


@router.delete(
    "/tokens/current",
    auth=BearerAuth(),
    response={204: None, **error_responses(401)},
    summary="Revoke the token this request carries",
)
def token_revoke_current(request):
    api_token_revoke(user=request.auth, token_id=request.api_token.pk)
    return Status(204, None)


@router.get("/me", response={200: MeOut, **error_responses(401)})
def me_get(request):
    return request.auth


@router.patch("/me", response={200: MeOut, **error_responses(400, 401, 403)})
def me_update(request, payload: MePatch):
    """Change the preferred name, email and the two flags (as the profile page).

    A flag the profile page doesn't offer this user (staff have neither)
    may be sent back unchanged; changing it gets 400 naming the field.
    """
    user = request.auth
    changes = payload.dict(exclude_unset=True)
    if "preferred_name" in changes and changes["preferred_name"] is None:
        changes["preferred_name"] = ""
    stored_flags = {flag: getattr(user, flag) for flag in STUDENT_FLAGS}
    errors = {
        field: [reason]
        for field, reason in profile_flags_refused(user).items()
        if field in changes and changes[field] != stored_flags[field]
    }
    data = {
        "preferred_name": user.preferred_name,
        "email": user.email,
        **stored_flags,
        **changes,
    }
    # The profile page's form: the same checks and the same messages.
    form = ProfileForm(
        {key: value for key, value in data.items() if value is not False},
        instance=user,
    )
    if not form.is_valid() or errors:
        errors |= {field: list(messages) for field, messages in form.errors.items()}
        detail = "; ".join(
            f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()
        )
        raise ApiError(400, "invalid", detail, errors=errors)
    # A field the form leaves out keeps its stored value.
    return profile_update(user=user, **(stored_flags | form.cleaned_data))

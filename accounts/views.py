from copy import copy
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    LoginView,
    LogoutView,
    PasswordChangeView,
    PasswordResetView,
)
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import (
    STUDENT_FLAGS,
    ChangePasswordForm,
    LoginForm,
    PasswordLinkForm,
    ProfileForm,
    RegisterForm,
    SetOrResetPasswordForm,
)
from accounts.selectors import api_tokens_for_user
from accounts.services import api_token_revoke as api_token_revoke_service
from accounts.services import password_link_send, profile_update, user_register
from accounts.throttle import link_request_message, link_request_retry_after


@require_http_methods(["GET", "POST"])
def register(request):
    """Create an account (open registration) or mail the roster's link."""
    if request.user.is_authenticated:
        return redirect("home")
    # Read per request, so the mode can be switched without code changes.
    if settings.PAIRUP_REGISTRATION == "roster":
        return _register_from_roster(request)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_register(
                username=data["username"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                preferred_name=data["preferred_name"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to Pair-Up, {user.display_name}!")
            return redirect("home")
    return render(request, "accounts/register.html", {"form": form})


def _register_from_roster(request):
    form = PasswordLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        retry_after = link_request_retry_after(request)
        if retry_after is not None:
            form.add_error(None, link_request_message(retry_after))
            return _wait(
                render(request, "accounts/register_roster.html", {"form": form}),
                retry_after,
            )
        username = form.cleaned_data["username"]
        password_link_send(username=username)
        messages.success(
            request,
            f"If {username} is on the unit's roster, a link to set your password "
            "is on its way to the email address the unit has for you. "
            "It works once.",
        )
        return redirect("login")
    return render(request, "accounts/register_roster.html", {"form": form})


def _wait(response, retry_after: int):
    """Make a page that refused a try a 429 saying when to try again (its
    form says so in words)."""
    response.status_code = 429
    response["Retry-After"] = str(retry_after)
    return response


class WaitWhenLimitedMixin:
    """For a form view whose form refuses tries for a while: its
    `retry_after` set makes the page a 429 with Retry-After."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after is not None:
            _wait(response, form.retry_after)
        return response


class SignInView(WaitWhenLimitedMixin, LoginView):
    """Django's sign-in view; 429 with Retry-After while the address is
    over its failed sign-ins (the form says how long to wait)."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_redirect_url(self):
        # A `next` naming this page would send a signed-in user round in a
        # loop (Django raises): the default destination serves instead.
        url = super().get_redirect_url()
        if url and urlsplit(url).path == self.request.path:
            return ""
        return url


class SignOutView(LogoutView):
    """Django's sign-out view (POST), saying so on the page it leads to."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You are signed out.")
        return response


class ChangePasswordView(WaitWhenLimitedMixin, PasswordChangeView):
    """Django's password-change view; 429 with Retry-After while the account
    is over its wrong old passwords (the form says how long to wait)."""

    form_class = ChangePasswordForm


class SetOrResetPasswordView(PasswordResetView):
    """Django's reset view, with the sender's address limited (429 with
    Retry-After; the form says how long to wait)."""

    form_class = SetOrResetPasswordForm

    def form_valid(self, form):
        retry_after = link_request_retry_after(self.request)
        if retry_after is not None:
            form.add_error(None, link_request_message(retry_after))
            return _wait(
                self.render_to_response(self.get_context_data(form=form)),
                retry_after,
            )
        return super().form_valid(form)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    # The form edits a copy: a ModelForm writes valid fields onto its instance
    # while validating, and a failed form must not show unsaved values as the
    # signed-in user's (the navbar's display name).
    form = ProfileForm(
        request.POST or None,
        instance=copy(request.user),
    )
    if request.method == "POST" and form.is_valid():
        # A field the form leaves out keeps its stored value.
        data = {flag: getattr(request.user, flag) for flag in STUDENT_FLAGS}
        profile_update(user=request.user, **(data | form.cleaned_data))
        messages.success(request, "Your profile was saved.")
        return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {"form": form, "api_tokens": api_tokens_for_user(user=request.user)},
    )


@login_required
@require_POST
def api_token_revoke(request, token_id):
    """Revoke one of my API tokens (the profile page lists them)."""
    if not api_token_revoke_service(user=request.user, token_id=token_id):
        raise Http404("No such token.")
    messages.success(request, "The API token was revoked.")
    return redirect("profile")

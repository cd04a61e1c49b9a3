import unicodedata

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    UserCreationForm,
)

from accounts.services import account_exists_error, site_link_context
from accounts.throttle import (
    link_mail_allowed,
    login_address_message,
    login_address_retry_after,
    old_password_check_count,
    old_password_check_uncount,
    old_password_message,
)
from accounts.validators import (
    validate_name_characters,
    validate_not_staff_name,
    validate_student_number,
)

User = get_user_model()


def submit_helper(label: str) -> FormHelper:
    helper = FormHelper()
    helper.add_input(Submit("submit", label))
    return helper


# Autofill tokens (WCAG 2.2 SC 1.3.5): a phone fills in the student's own
# name and email.
OWN_DETAILS_AUTOFILL = {
    "first_name": "given-name",
    "last_name": "family-name",
    "preferred_name": "nickname",
    "email": "email",
}


def _autofill(form: forms.BaseForm, tokens: dict[str, str]) -> None:
    for name, token in tokens.items():
        if name in form.fields:
            form.fields[name].widget.attrs["autocomplete"] = token


class RegisterForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "first_name", "last_name", "preferred_name", "email")
        labels = {"username": "Student number"}
        help_texts = {
            "username": "Your student number; you sign in with it.",
            "preferred_name": "Optional: the name your team mates call you.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("first_name", "last_name", "email"):
            self.fields[name].required = True
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "inputmode": "numeric"}
        )
        _autofill(self, OWN_DETAILS_AUTOFILL)
        self.helper = submit_helper("Create account")

    def clean_first_name(self):
        return _student_name(self.cleaned_data["first_name"])

    def clean_last_name(self):
        return _student_name(self.cleaned_data["last_name"])

    def clean_preferred_name(self):
        return _student_name(self.cleaned_data["preferred_name"])

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        validate_student_number(username)
        if User.objects.filter(username__iexact=username).exists():
            raise account_exists_error()
        return username

    def validate_unique(self):
        # Taken since clean_username looked (a double-clicked submit): the
        # model's check says so in Django's words and without the link to
        # set a password; say it as clean_username does.
        super().validate_unique()
        errors = self._errors.get("username")
        if errors and any(error.code == "unique" for error in errors.as_data()):
            del self._errors["username"]
            self.add_error("username", account_exists_error())


class AddressLimitMixin:
    """Refuse a sign-in before any password is hashed when the address has
    used up its failed sign-ins (accounts.throttle)."""

    retry_after: int | None = None

    def clean(self):
        if self.request is not None:
            self.retry_after = login_address_retry_after(self.request)
        if self.retry_after is not None:
            raise forms.ValidationError(
                login_address_message(self.retry_after), code="address_throttled"
            )
        return super().clean()


class LoginForm(AddressLimitMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # The stock message names the field "username".
        "invalid_login": "Please enter a correct student number and password.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Student number"
        self.helper = submit_helper("Sign in")


class AdminLoginForm(AddressLimitMixin, AdminAuthenticationForm):
    """The admin's sign-in form, with the same per-address limit."""


class ChangePasswordForm(PasswordChangeForm):
    """Django's password-change form, with wrong old passwords limited per
    account (accounts.throttle). Over the limit the old password isn't
    checked at all: a right guess gets the same refusal as a wrong one."""

    retry_after: int | None = None

    def clean_old_password(self):
        user_id = self.user.pk
        self.retry_after = old_password_check_count(user_id)
        if self.retry_after is not None:
            old_password_check_uncount(user_id)  # a refusal checks nothing
            # The whole form is refused: a non-field error, in the box at
            # the top that screen readers announce.
            self.add_error(
                None,
                forms.ValidationError(
                    old_password_message(self.retry_after), code="throttled"
                ),
            )
            return ""
        old_password = super().clean_old_password()  # a wrong one stays counted
        old_password_check_uncount(user_id)
        return old_password


STUDENT_FLAGS = ("looking_for_partner", "please_assign_me")


def profile_flags_refused(user) -> dict[str, str]:
    """Return the student flags the user doesn't set, each with the reason.

    Staff aren't students: neither flag applies to them. In teams of one
    nobody looks for a partner. Stored values are left alone (the profile
    hides the fields, `PATCH /me` refuses a change), so switching the team
    size back restores what students chose.
    """
    if user.is_staff or user.is_superuser:
        reason = "Only students set this flag, and this is a staff account."
        return dict.fromkeys(STUDENT_FLAGS, reason)
    if settings.PAIRUP_TEAM_SIZE == 1:
        return {"looking_for_partner": "Teams are of one: nobody looks for a partner."}
    return {}


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("preferred_name", "email", "looking_for_partner", "please_assign_me")
        help_texts = {
            "looking_for_partner": "Other students see this in search.",
            "please_assign_me": "The coordinator sees this and may pair you up.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        _autofill(self, OWN_DETAILS_AUTOFILL)
        # A flag the user doesn't set keeps its stored value (the caller
        # passes it on unchanged).
        for flag in profile_flags_refused(self.instance):
            del self.fields[flag]
        if settings.PAIRUP_TEAM_SIZE == 1 and "please_assign_me" in self.fields:
            self.fields[
                "please_assign_me"
            ].help_text = "The coordinator sees this and may set up a project for you."
        self.helper = submit_helper("Save profile")

    def clean_preferred_name(self):
        name = self.cleaned_data["preferred_name"]
        if "preferred_name" not in self.changed_data:
            return name  # an older name never blocks saving the rest
        if self.instance.is_staff or self.instance.is_superuser:
            validate_name_characters(name)
            return name
        return _student_name(name)


class SetOrResetPasswordForm(PasswordResetForm):
    """Django's reset form, but also for accounts with no password yet.

    The stock form skips users whose password is unusable, which is every
    student created by `import_students` until they set one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = submit_helper("Send me the link")

    def save(self, **kwargs):
        # The link goes to PAIRUP_SITE_URL, whatever Host the request named.
        link = site_link_context()
        kwargs["domain_override"] = link["domain"]
        kwargs["use_https"] = link["protocol"] == "https"
        return super().save(**kwargs)

    def get_users(self, email):
        # Django's own comparison too: the database's case-insensitive match
        # may treat distinct Unicode addresses as equal.
        wanted = _casefold(email)
        return (
            user
            for user in User._default_manager.filter(
                email__iexact=email, is_active=True
            )
            if _casefold(user.email) == wanted and link_mail_allowed(user.pk)
        )


class PasswordLinkForm(forms.Form):
    """Ask for a set-password link by student number (roster registration)."""

    username = forms.CharField(
        label="Student number",
        max_length=150,
        help_text="The link goes to the email address the unit has for you.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(
            {"autocomplete": "username", "inputmode": "numeric"}
        )
        self.helper = submit_helper("Send me the link")

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        validate_student_number(username)
        return username


def _student_name(name: str) -> str:
    """Return a student's name, refusing control characters and a name that
    poses as staff."""
    validate_name_characters(name)
    validate_not_staff_name(name)
    return name


def _casefold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()

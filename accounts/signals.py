"""Signal receivers, connected in AccountsConfig.ready()."""

from accounts.services import api_tokens_revoke_for_session
from accounts.throttle import login_failure_record


def user_signed_out(sender, request, user, **kwargs):
    """Revoke the API tokens this session asked for (before it is flushed)."""
    if user is None or user.pk is None or request is None:
        return
    session = getattr(request, "session", None)
    api_tokens_revoke_for_session(
        user=user, session_key=session.session_key if session is not None else None
    )


def sign_in_failed(sender, credentials, request=None, **kwargs):
    """Count a failed sign-in (page, admin or API) against the address."""
    if request is not None:
        login_failure_record(request)

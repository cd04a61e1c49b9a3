from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out

        from accounts import signals

        user_logged_out.connect(
            signals.user_signed_out, dispatch_uid="accounts_revoke_session_tokens"
        )

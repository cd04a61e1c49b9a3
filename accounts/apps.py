from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out, user_login_failed

        from accounts import signals

        user_logged_out.connect(
            signals.user_signed_out, dispatch_uid="accounts_revoke_session_tokens"
        )
        user_login_failed.connect(
            signals.sign_in_failed, dispatch_uid="accounts_count_address_failures"
        )

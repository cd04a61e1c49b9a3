from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out, user_login_failed
        from django.db.models.signals import post_delete, post_save, pre_save

        from accounts import revocation, signals

        User = get_user_model()
        user_logged_out.connect(
            signals.user_signed_out, dispatch_uid="accounts_revoke_session_tokens"
        )
        user_login_failed.connect(
            signals.sign_in_failed, dispatch_uid="accounts_count_address_failures"
        )
        user_logged_out.connect(
            revocation.user_signed_out, dispatch_uid="accounts_revoke_on_sign_out"
        )
        pre_save.connect(
            revocation.user_pre_save,
            sender=User,
            dispatch_uid="accounts_revoke_access_check",
        )
        post_save.connect(
            revocation.user_saved,
            sender=User,
            dispatch_uid="accounts_revoke_on_access_change",
        )
        post_delete.connect(
            revocation.user_deleted,
            sender=User,
            dispatch_uid="accounts_revoke_on_delete",
        )

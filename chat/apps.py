from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from chat import signals
        from chat.models import Room
        from projects.models import Membership, Project

        post_save.connect(
            signals.project_saved, sender=Project, dispatch_uid="chat_team_room_create"
        )
        post_delete.connect(
            signals.room_deleted, sender=Room, dispatch_uid="chat_room_deleted_close"
        )
        post_delete.connect(
            signals.membership_deleted,
            sender=Membership,
            dispatch_uid="chat_membership_deleted_close",
        )
        post_save.connect(
            signals.user_saved,
            sender=get_user_model(),
            dispatch_uid="chat_user_renamed",
        )

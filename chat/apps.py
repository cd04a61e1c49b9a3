from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import (
            m2m_changed,
            post_delete,
            post_save,
            pre_save,
        )

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
        pre_save.connect(
            signals.user_pre_save,
            sender=get_user_model(),
            dispatch_uid="chat_user_status_before",
        )
        post_save.connect(
            signals.user_status_saved,
            sender=get_user_model(),
            dispatch_uid="chat_user_status_saved",
        )
        m2m_changed.connect(
            signals.user_groups_changed,
            sender=get_user_model().groups.through,
            dispatch_uid="chat_user_groups_changed",
        )

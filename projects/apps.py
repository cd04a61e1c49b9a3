from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Teams and lab slots"

    def ready(self):
        from projects import signals

        post_save.connect(
            signals.user_saved,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="projects.user_saved",
        )

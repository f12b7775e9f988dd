from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """Templates and static files of the marketer's workspace (the admin site itself: ``admin_app``)."""

    name = "shopconnect.workspace"
    label = "workspace"
    verbose_name = "Workspace"

from django.contrib.admin.apps import AdminConfig


class WorkspaceAdminConfig(AdminConfig):
    """Django's admin app with our site as the default ``admin.site`` (every ``@admin.register`` uses it)."""

    default_site = "shopconnect.workspace.site.WorkspaceAdminSite"

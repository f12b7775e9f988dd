from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Flows, campaigns and sending"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import address_change, catalog_triggers, coupons, feedback, tasks, webhooks  # noqa: F401 (webhooks: its system check)
        from .reports import tasks as report_tasks

        tasks.connect()
        address_change.connect()
        feedback.connect()
        coupons.connect()
        catalog_triggers.connect()
        report_tasks.connect()

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Platform integrations and webhook inbox"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from shopconnect.timeline.models import Store

        from .views import forget_stores

        # A store changed or deleted in this process is looked up again by the next webhook (other
        # processes notice within STORE_CACHE_SECONDS, or at once for a deleted store: see the view).
        post_save.connect(forget_stores, sender=Store, dispatch_uid="integrations.forget_stores.save")
        post_delete.connect(forget_stores, sender=Store, dispatch_uid="integrations.forget_stores.delete")

from django.apps import AppConfig
from django.db.models.signals import post_save, pre_save


class TimelineConfig(AppConfig):
    name = "shopconnect.timeline"
    label = "timeline"
    verbose_name = "Stores and customer timelines"

    def ready(self) -> None:
        from shopconnect import (
            checks,  # noqa: F401  (registers the production settings check)
            outbound,
        )

        from . import localtime
        from .models import Store

        outbound.install()  # every HTTP(S) connection checks its peer is public (SSRF)
        localtime.connect()
        pre_save.connect(_remember_zone, sender=Store, dispatch_uid="timeline.store_zone_before")
        post_save.connect(_follow_zone, sender=Store, dispatch_uid="timeline.store_zone_after")


def _remember_zone(sender, instance, raw=False, **kwargs) -> None:
    if instance.pk and not raw:
        instance._zone_before = sender.objects.filter(pk=instance.pk).values_list("timezone", flat=True).first()


def _follow_zone(sender, instance, created, raw=False, **kwargs) -> None:
    """A store's time zone changed: its events that use the store's clock get their local times again."""
    from . import localtime

    before = getattr(instance, "_zone_before", None)
    if created or raw or before is None or before == instance.timezone:
        return
    instance._zone_before = instance.timezone
    localtime.relocalize_store(instance.pk)
    localtime.local_times_changed.send(sender=sender, store_id=instance.pk)

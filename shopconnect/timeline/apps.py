from django.apps import AppConfig


class TimelineConfig(AppConfig):
    name = "shopconnect.timeline"
    label = "timeline"
    verbose_name = "Stores and customer timelines"

    def ready(self) -> None:
        from shopconnect import (
            checks,  # noqa: F401  (registers the production settings check)
            outbound,
        )

        outbound.install()  # every HTTP(S) connection checks its peer is public (SSRF)

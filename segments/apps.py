from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        from shopconnect.timeline.localtime import local_times_changed
        from shopconnect.timeline.record import events_recorded

        from . import realtime, sqlfuncs

        sqlfuncs.connect()
        events_recorded.connect(realtime.on_events_recorded, dispatch_uid="segments.realtime")
        local_times_changed.connect(realtime.on_local_times_changed, dispatch_uid="segments.local_times")

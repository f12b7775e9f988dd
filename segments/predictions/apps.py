from django.apps import AppConfig


class PredictionsConfig(AppConfig):
    name = "segments.predictions"
    label = "predictions"
    verbose_name = "Predictions"

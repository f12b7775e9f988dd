"""Per-customer predictions (churn risk, lifetime value, next order, RFM), refit per store."""

from __future__ import annotations

from django.db import models

from shopconnect.timeline.models import Customer, Store


class CustomerPrediction(models.Model):
    class Band(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Confidence(models.TextChoices):
        MODEL = "model", "Statistical model"
        LOW = "low", "Low (heuristic: not enough history)"

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="prediction")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="predictions")
    probability_alive = models.FloatField(null=True, blank=True)
    churn_risk = models.FloatField(null=True, blank=True, help_text="1 - probability alive")
    churn_band = models.CharField(max_length=8, choices=Band.choices, blank=True, default="")
    expected_orders = models.FloatField(null=True, blank=True, help_text="Expected orders over the horizon")
    expected_order_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    predicted_clv = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    horizon_days = models.PositiveIntegerField(default=365)
    expected_next_order_at = models.DateTimeField(null=True, blank=True)
    average_days_between_orders = models.FloatField(null=True, blank=True)
    rfm_recency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_frequency = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_monetary = models.PositiveSmallIntegerField(null=True, blank=True)
    rfm_group = models.CharField(max_length=32, blank=True, default="")
    confidence = models.CharField(max_length=8, choices=Confidence.choices, default=Confidence.LOW)
    explanation = models.TextField(blank=True, default="")
    computed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["store", "churn_band"], name="prediction_store_band_idx"),
            models.Index(fields=["store", "predicted_clv"], name="prediction_store_clv_idx"),
        ]

    def __str__(self) -> str:
        return f"prediction for {self.customer_id}"

    def as_api_dict(self) -> dict:
        return {
            "probability_alive": self.probability_alive,
            "churn_risk": self.churn_risk,
            "churn_band": self.churn_band,
            "expected_orders": self.expected_orders,
            "horizon_days": self.horizon_days,
            "expected_order_value": str(self.expected_order_value)
            if self.expected_order_value is not None
            else None,
            "predicted_clv": str(self.predicted_clv) if self.predicted_clv is not None else None,
            "expected_next_order_at": self.expected_next_order_at.isoformat()
            if self.expected_next_order_at
            else None,
            "average_days_between_orders": self.average_days_between_orders,
            "rfm": {
                "recency": self.rfm_recency,
                "frequency": self.rfm_frequency,
                "monetary": self.rfm_monetary,
                "group": self.rfm_group,
            },
            "confidence": self.confidence,
            "explanation": self.explanation,
            "computed_at": self.computed_at.isoformat(),
        }


class PredictionRun(models.Model):
    """One refit of a store's predictions: which method was used, on how much history, and why."""

    class Method(models.TextChoices):
        MODEL = "model", "BG/NBD + Gamma-Gamma"
        HEURISTIC = "heuristic", "Heuristic (not enough history)"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="prediction_runs")
    computed_at = models.DateTimeField()
    method = models.CharField(max_length=16, choices=Method.choices)
    customers = models.PositiveIntegerField(help_text="Customers with at least one purchase")
    repeat_customers = models.PositiveIntegerField()
    history_days = models.PositiveIntegerField(help_text="Days from the first purchase to the refit")
    horizon_days = models.PositiveIntegerField(default=365)
    parameters = models.JSONField(default=dict, blank=True, help_text="Fitted model parameters")
    typical_days_between_orders = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True, default="", help_text="Why this method was used")
    seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["store", "-computed_at"], name="prediction_run_store_idx")]
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for store {self.store_id} at {self.computed_at:%Y-%m-%d %H:%M}"

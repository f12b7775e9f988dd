"""Admin: predictions on the customer page (a read-only inline) and a store-level distribution page.

The inline is added to the timeline's registered ``CustomerAdmin`` from here, so the timeline app does not
depend on predictions. The store page (``admin:predictions_store``) shows the latest refit and the
distribution of churn risk, predicted lifetime value and RFM groups; it answers 404 for a store the user
does not belong to.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Avg, Case, Count, IntegerField, Sum, Value, When
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from shopconnect.tenancy import StoreScopedAdminMixin, visible_stores
from shopconnect.timeline.admin import CustomerAdmin  # noqa: F401  (registers Customer first)
from shopconnect.timeline.models import Customer

from .models import CustomerPrediction, PredictionRun
from .rfm import GROUPS

CLV_EDGES = (0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


class PredictionInline(admin.StackedInline):
    model = CustomerPrediction
    fk_name = "customer"
    can_delete = False
    extra = 0
    max_num = 0
    verbose_name = verbose_name_plural = "Predictions"
    fields = (
        "explanation_text",
        "confidence",
        "churn_band",
        "churn_risk_percent",
        "expected_orders",
        "expected_order_value",
        "predicted_clv",
        "horizon_days",
        "expected_next_order_at",
        "average_days_between_orders",
        "rfm",
        "computed_at",
        "store_page",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="In plain words")
    def explanation_text(self, prediction: CustomerPrediction) -> str:
        return prediction.explanation

    @admin.display(description="Churn risk")
    def churn_risk_percent(self, prediction: CustomerPrediction) -> str:
        if prediction.churn_risk is None:
            return "not estimated (low confidence)"
        return f"{prediction.churn_risk:.0%} (probability still active {prediction.probability_alive:.0%})"

    @admin.display(description="RFM")
    def rfm(self, prediction: CustomerPrediction) -> str:
        return (
            f"R{prediction.rfm_recency} F{prediction.rfm_frequency} M{prediction.rfm_monetary}: "
            f"{prediction.rfm_group}"
        )

    @admin.display(description="Store")
    def store_page(self, prediction: CustomerPrediction):
        url = reverse("admin:predictions_store", args=[prediction.store_id])
        return format_html('<a href="{}">distribution of predictions for this store</a>', url)


_customer_admin = admin.site._registry[Customer]
if PredictionInline not in _customer_admin.inlines:
    _customer_admin.inlines = [*_customer_admin.inlines, PredictionInline]


def _bars(counts: list[tuple[str, int]]) -> list[dict]:
    total = sum(n for _, n in counts) or 1
    return [{"label": label, "count": n, "percent": round(100 * n / total, 1)} for label, n in counts]


def distribution(store_id: int) -> dict:
    """Counts for the store page, each from one aggregate query."""
    qs = CustomerPrediction.objects.filter(store_id=store_id)
    bands = dict(qs.values_list("churn_band").annotate(n=Count("id")).values_list("churn_band", "n"))
    band_rows = [
        (label, bands.get(key, 0))
        for key, label in (("low", "low"), ("medium", "medium"), ("high", "high"), ("", "not estimated"))
    ]
    risk_bucket = Case(
        *[When(churn_risk__lt=(i + 1) / 10, then=Value(i)) for i in range(9)],
        When(churn_risk__isnull=False, then=Value(9)),
        default=Value(-1),
        output_field=IntegerField(),
    )
    risks = dict(
        qs.annotate(bucket=risk_bucket).values("bucket").annotate(n=Count("id")).values_list("bucket", "n")
    )
    risk_rows = [(f"{10 * i}-{10 * (i + 1)}%", risks.get(i, 0)) for i in range(10)]
    clv_bucket = Case(
        *[When(predicted_clv__lt=edge, then=Value(i)) for i, edge in enumerate(CLV_EDGES[1:])],
        When(predicted_clv__isnull=False, then=Value(len(CLV_EDGES) - 1)),
        default=Value(-1),
        output_field=IntegerField(),
    )
    clvs = dict(
        qs.annotate(bucket=clv_bucket).values("bucket").annotate(n=Count("id")).values_list("bucket", "n")
    )
    labels = [f"{lo}-{hi}" for lo, hi in zip(CLV_EDGES, CLV_EDGES[1:], strict=False)] + [f"{CLV_EDGES[-1]}+"]
    clv_rows = [(label, clvs.get(i, 0)) for i, label in enumerate(labels)]
    groups = dict(qs.values("rfm_group").annotate(n=Count("id")).values_list("rfm_group", "n"))
    totals = qs.aggregate(
        customers=Count("id"),
        clv_total=Sum("predicted_clv"),
        clv_average=Avg("predicted_clv"),
        churn_average=Avg("churn_risk"),
    )
    return {
        "bands": _bars(band_rows),
        "risks": _bars(risk_rows),
        "clv": _bars(clv_rows),
        "groups": _bars([(g, groups.get(g, 0)) for g in GROUPS]),
        "totals": totals,
        "not_estimated": risks.get(-1, 0),
    }


@admin.register(PredictionRun)
class PredictionRunAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("computed_at", "store", "method", "customers", "repeat_customers", "seconds", "page")
    list_filter = ("method", "store")
    readonly_fields = [f.name for f in PredictionRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Distribution")
    def page(self, run: PredictionRun):
        return format_html('<a href="{}">view</a>', reverse("admin:predictions_store", args=[run.store_id]))

    def get_urls(self):
        view = self.admin_site.admin_view(self.store_view)
        return [path("store/<int:store_id>/", view, name="predictions_store"), *super().get_urls()]

    def store_view(self, request, store_id: int):
        store = visible_stores(request.user).filter(pk=store_id).first()
        if store is None or not self.has_view_permission(request):
            raise Http404("No such store")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Predictions for {store}",
            "store": store,
            "run": PredictionRun.objects.filter(store=store).order_by("-computed_at").first(),
            "opts": self.model._meta,
            **distribution(store.pk),
        }
        return render(request, "admin/predictions/store_predictions.html", context)

"""Admin: predictions on the customer page (a read-only section) and a store-level distribution page.

The section is added to the timeline's registered ``CustomerAdmin`` from here, so the timeline app does
not depend on predictions. The store page (``admin:predictions_store``) shows the latest refit and the
distribution of churn risk, predicted lifetime value and RFM groups; it answers 404 for a store the user
does not belong to.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Avg, Case, Count, IntegerField, Sum, Value, When
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from shopconnect.tenancy import StoreScopedAdminMixin, visible_stores
from shopconnect.timeline.admin import CustomerAdmin  # noqa: F401  (registers Customer first)
from shopconnect.timeline.models import Customer

from .models import CustomerPrediction, PredictionRun
from .rfm import GROUPS

CLV_EDGES = (0, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000)


def _rows(prediction: CustomerPrediction) -> list[tuple[str, str]]:
    if prediction.churn_risk is None:
        churn = f"{prediction.churn_band or 'not estimated'} (low confidence: no probability estimated)"
    else:
        churn = (
            f"{prediction.churn_band}: {prediction.churn_risk:.0%} "
            f"(probability still active {prediction.probability_alive:.0%})"
        )
    money = prediction.store.currency

    def amount(value) -> str:
        return "not estimated" if value is None else f"{money} {value}"

    interval = prediction.average_days_between_orders
    return [
        ("Churn risk", churn),
        (
            f"Expected orders, next {prediction.horizon_days} days",
            "not estimated" if prediction.expected_orders is None else f"{prediction.expected_orders:.2f}",
        ),
        ("Expected order value", amount(prediction.expected_order_value)),
        ("Predicted lifetime value", amount(prediction.predicted_clv)),
        (
            "Next order expected",
            f"{prediction.expected_next_order_at:%Y-%m-%d}"
            if prediction.expected_next_order_at
            else "not expected",
        ),
        ("Average time between orders", "unknown" if interval is None else f"{interval:.0f} days"),
        (
            "RFM",
            f"R{prediction.rfm_recency} F{prediction.rfm_frequency} M{prediction.rfm_monetary}: "
            f"{prediction.rfm_group}",
        ),
        ("Confidence", prediction.get_confidence_display()),
        ("Computed", f"{prediction.computed_at:%Y-%m-%d %H:%M} UTC"),
    ]


@admin.display(description="Predictions")
def prediction_panel(customer: Customer):
    """The customer's predictions: the plain explanation first, then the numbers, then the store page."""
    prediction = CustomerPrediction.objects.filter(customer=customer).select_related("store").first()
    if prediction is None:
        return "Not computed yet: predictions need an order, and are refitted daily."
    rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", _rows(prediction))
    url = reverse("admin:predictions_store", args=[prediction.store_id])
    return format_html(
        '<p class="prediction-explanation">{}</p><table>{}</table>'
        '<p><a href="{}">Distribution of predictions for this store</a></p>',
        prediction.explanation,
        rows,
        url,
    )


# Added to the timeline's CustomerAdmin from here (so the timeline does not depend on predictions): a
# read-only "Predictions" section right after the aggregates. ``lookup_field`` calls an attribute of
# the admin instance with the object, so a plain function set on the instance works as a display field.
_customer_admin = admin.site._registry[Customer]
if "prediction_panel" not in _customer_admin.readonly_fields:
    _customer_admin.prediction_panel = prediction_panel
    _customer_admin.readonly_fields = (*_customer_admin.readonly_fields, "prediction_panel")
    _sections = list(_customer_admin.fieldsets)
    _after = next((i + 1 for i, (name, _) in enumerate(_sections) if name == "Aggregates"), len(_sections))
    _sections.insert(_after, ("Predictions", {"fields": ("prediction_panel",)}))
    _customer_admin.fieldsets = tuple(_sections)


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

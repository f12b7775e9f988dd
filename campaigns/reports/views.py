"""Admin report pages under ``/admin/reports/``: the store dashboard, a campaign, a flow, a segment.

Each page is a list of sections (a chart and/or a table) rendered by one template; every table has a
CSV export (the same URL with ``?export=<table>``). Pages answer only for the stores the user belongs
to (``shopconnect.tenancy``): another store's campaign, flow or segment answers 404 like a missing one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from shopconnect.tenancy import visible_stores

from ..coupons import code_rows
from ..models import Campaign, Flow
from . import dashboard as reports
from .charts import bar_chart, line_chart, lines_chart
from .kpis import DateRange
from .tables import KPI_COLUMNS, Table, csv_response, display

MONEY_COLUMNS = [("orders", "Orders"), ("revenue", "Revenue")]


def _dates(request, optional: bool, zone: str = "UTC") -> tuple[DateRange | None, str]:
    """The page's days, in the store's time zone ``zone``."""
    since, until = request.GET.get("since") or None, request.GET.get("until") or None
    if optional and not since and not until:
        return None, ""
    try:
        return reports.parse_range(since, until, zone=zone), ""
    except ValueError as exc:
        return (None if optional else reports.parse_range(None, None, zone=zone)), str(exc)


def _page(request, *, title: str, store, sections: list[dict], dates: DateRange | None, range_error: str = "",
          summary=(), alerts=(), stores=None, export_prefix: str = "report"):
    export = request.GET.get("export")
    if export:
        for section in sections:
            table = section.get("table")
            if table is not None and table.key == export:
                return csv_response(table, export_prefix)
        raise Http404("no such table")
    query = {k: v for k, v in request.GET.items() if k != "export"}
    context = {
        **admin.site.each_context(request),
        "title": title, "store": store, "stores": stores, "sections": sections, "summary": summary,
        "alerts": alerts, "range_error": range_error, "query": urlencode(query), "time_zone": store.timezone,
        "since": dates.since.isoformat() if dates else request.GET.get("since", ""),
        "until": dates.until.isoformat() if dates else request.GET.get("until", ""),
    }
    return render(request, "admin/reports/report.html", context)


def _kpi_sections(report: dict, first: tuple[str, str] | None, rows_key: str, title: str, currency: str,
                  link=None) -> list[dict]:
    rows = report[rows_key]
    if link:
        rows = [{**row, "_link": link(row)} for row in rows]
    days = report["days"]
    return [
        {"title": "Totals", "table": Table("totals", "Totals", KPI_COLUMNS, [report["totals"]])},
        {"title": title, "table": Table(rows_key, title, ([first] if first else []) + KPI_COLUMNS, rows,
                                        link="_link" if link else None)},
        {"title": "Per day (by send day)",
         "chart": line_chart([(str(d["day"]), float(d["revenue"])) for d in days], "Revenue per send day",
                             f"{currency} "),
         "table": Table("days", "Per day", [("day", "Day"), *KPI_COLUMNS], days)},
    ]


def _lift_section(lift: dict | None, currency: str) -> dict:
    note = ("No holdout: set a holdout share to measure lift." if lift is None else
            f"Orders placed within {lift['window_days']} days after the send (for the holdout: after it was "
            f"decided), whatever email they were attributed to; 95% confidence intervals.")
    rows = []
    for key, label in (("conversion_rate", "Conversion rate"), ("revenue_per_recipient", "Revenue per recipient")):
        value = (lift or {}).get(key)
        if value:
            fmt = "conversion_rate" if key == "conversion_rate" else "revenue"
            rows.append({"measure": label, "recipients": display(fmt, value["treated"]),
                         "holdout": display(fmt, value["holdout"]), "difference": display(fmt, value["difference"]),
                         "ci": f"{display(fmt, value['ci_low'])} to {display(fmt, value['ci_high'])}",
                         "relative": display("conversion_rate", value["relative"]),
                         "significant": "yes" if value["significant"] else "no"})
    columns = [("measure", "Measure"), ("recipients", f"Recipients ({(lift or {}).get('recipients', 0)})"),
               ("holdout", f"Holdout ({(lift or {}).get('holdout', 0)})"), ("difference", "Lift"),
               ("ci", "95% interval"), ("relative", "Relative lift"), ("significant", "Significant")]
    return {"title": "Holdout lift", "note": note, "table": Table("lift", "Holdout lift", columns, rows)}


def _codes_section(rows: list[dict], heading: str, currency: str) -> dict | None:
    """Unique discount codes (``campaigns.coupons``): issued, redeemed, and the revenue of the orders that
    used them (matched on the orders' discount codes). None when no code was issued."""
    if not rows:
        return None
    totals = {"group": "All", **{k: sum(r[k] for r in rows) for k in ("issued", "redeemed", "revenue")}}
    totals["redemption_rate"] = totals["redeemed"] / totals["issued"] if totals["issued"] else None
    columns = [("group", heading), ("issued", "Codes issued"), ("redeemed", "Redeemed"),
               ("redemption_rate", "Redemption rate"), ("revenue", f"Revenue from redeemed codes ({currency})")]
    return {"title": "Unique discount codes",
            "note": "Codes created on the store for each recipient; an order redeems a code when it carries it "
                    "among its discount codes. Revenue is those orders' totals.",
            "table": Table("codes", "Unique discount codes", columns, rows + ([totals] if len(rows) > 1 else []))}


def dashboard_view(request):
    stores = visible_stores(request.user)
    wanted = request.GET.get("store")
    if wanted and not wanted.isdigit():
        raise Http404("No such store")
    store = stores.filter(pk=wanted).first() if wanted else stores.first()
    if store is None:
        raise Http404("No such store")
    dates, error = _dates(request, optional=False, zone=store.timezone)
    data = reports.dashboard(store.pk, dates)
    money = f"{store.currency} "
    health = data["list_health"]
    health_rows = [{"group": label, "customers": health[key]} for key, label in (
        ("engaged", "Engaged (opened or clicked in 90 days)"), ("unengaged", "Subscribed, not engaged"),
        ("suppressed", "Suppressed or unsubscribed"), ("not_subscribed", "Not subscribed"))]
    delivery = data["deliverability"]

    def campaign_link(row):
        return reverse("reports:campaign", args=[row["id"]]) if row["id"] else None

    def flow_link(row):
        return reverse("reports:flow", args=[row["id"]]) if row["id"] else None

    def earned_link(row):
        return (campaign_link(row) if row["kind"] == "Campaign" else flow_link(row)) if row["id"] else None

    split = data["revenue_split"]
    growth = data["segment_growth"]
    biggest = sorted(growth, key=lambda s: -s["last"])[:8]
    sections = [
        {"title": "What earned the money (every attributed order, by the email it is credited to)",
         "note": "Each attributed order counts once: under its campaign, else its flow, else under “other” "
                 "(an email sent outside campaigns and flows, such as imported history, or whose campaign or "
                 "flow was deleted). The rows add up to the attributed revenue above.",
         "table": Table("earned", "What earned the money", [("name", "Source"), ("kind", "Kind"), *MONEY_COLUMNS],
                        [{**r, "_link": earned_link(r)} for r in data["earned"]], link="_link")},
        {"title": "Attributed revenue over time (by order day, net of refunds)",
         "chart": line_chart([(str(d["day"]), float(d["revenue"])) for d in data["revenue_over_time"]],
                             "Attributed revenue", money),
         "table": Table("revenue", "Revenue", [("day", "Day"), *MONEY_COLUMNS], data["revenue_over_time"])},
        {"title": "Campaigns ranked by revenue",
         "chart": bar_chart([(c["name"], float(c["revenue"])) for c in data["campaigns"]], "Campaigns", money),
         "table": Table("campaigns", "Campaigns", [("name", "Campaign"), *MONEY_COLUMNS],
                        [{**c, "_link": campaign_link(c)} for c in data["campaigns"]], link="_link")},
        {"title": "Flows ranked by revenue",
         "chart": bar_chart([(f["name"], float(f["revenue"])) for f in data["flows"]], "Flows", money),
         "table": Table("flows", "Flows", [("name", "Flow"), *MONEY_COLUMNS],
                        [{**f, "_link": flow_link(f)} for f in data["flows"]], link="_link")},
        {"title": "Segment growth (daily sizes)",
         "note": "Sizes are recorded once a day from the day a segment is created; growth rate = change / size "
                 "on the first day shown. The chart shows the 8 largest segments.",
         "chart": lines_chart([(s["name"], [(str(p["day"]), p["size"]) for p in s["points"]]) for s in biggest],
                              "Segment sizes"),
         "table": Table("segments", "Segments", [("name", "Segment"), ("first", "First day"), ("last", "Last day"),
                                                 ("change", "Change"), ("growth_rate", "Growth rate")],
                        [{**s, "_link": reverse("reports:segment", args=[s["id"]])} for s in growth],
                        link="_link")},
        {"title": "List health",
         "chart": bar_chart([(r["group"], r["customers"]) for r in health_rows], "List health"),
         "table": Table("list_health", "List health", [("group", "Customers with an email"),
                                                       ("customers", "Customers")], health_rows)},
        {"title": "Deliverability",
         "note": "Alerts when complaints pass 0.1% of delivered mail or bounces pass 2% of sent mail.",
         "table": Table("deliverability", "Deliverability", [
             ("sent", "Sent"), ("delivered", "Delivered"), ("bounced", "Bounced"), ("bounce_rate", "Bounce rate"),
             ("complained", "Complaints"), ("complaint_rate", "Complaint rate"), ("unsubscribed", "Unsubscribed"),
             ("unsubscribe_rate", "Unsubscribe rate")], [delivery])},
    ]
    best_c, best_f = data["best_campaign"], data["best_flow"]
    summary = [("Attributed revenue", f"{money}{display('revenue', data['attributed_revenue'])}"),
               ("from flows", f"{money}{display('revenue', split['flows'])}"),
               ("from campaigns", f"{money}{display('revenue', split['campaigns'])}"),
               ("other email", f"{money}{display('revenue', split['other'])}"),
               ("Best campaign", f"{best_c['name']}: {money}{display('revenue', best_c['revenue'])}" if best_c
                else "none yet"),
               ("Best flow", f"{best_f['name']}: {money}{display('revenue', best_f['revenue'])}" if best_f
                else "none yet"),
               ("Attributed orders", display("orders", data["attributed_orders"])),
               ("Emails sent", display("sent", delivery["sent"])),
               ("Customers with an email", display("total", health["total"]))]
    return _page(request, title="Reports", store=store, stores=stores, sections=sections, dates=dates,
                 range_error=error, summary=summary, alerts=delivery["alerts"], export_prefix=f"store-{store.pk}")


def campaign_view(request, campaign_id: int):
    campaign = Campaign.objects.filter(store__in=visible_stores(request.user), pk=campaign_id).select_related(
        "store").first()
    if campaign is None:
        raise Http404("No such campaign")
    dates, error = _dates(request, optional=True, zone=campaign.store.timezone)
    report = reports.campaign_report(campaign, dates)
    money = f"{campaign.store.currency} "
    sections = _kpi_sections(report, ("variant", "Variant"), "variants", "Variants (test share and rest)",
                             campaign.store.currency)
    metric = campaign.get_winning_metric_display()
    ab = report["ab_test"]
    if ab:
        metric_key = "revenue" if campaign.winning_metric == Campaign.Metric.REVENUE_PER_RECIPIENT else "open_rate"
        rows = [{**r, "metric_shown": display(metric_key, r["metric_value"])} for r in ab]
        sections.insert(1, {
            "title": f"A/B test ({metric})",
            "note": campaign.winner_reason or "Win probability: the chance that each variant is the best on the "
                                              "winning metric (Bayesian; campaigns.stats).",
            "chart": bar_chart([(r["variant"], r["win_probability"] * 100) for r in ab], "Win probability",
                               suffix="%"),
            "table": Table("ab", "A/B test", [("variant", "Variant"), ("sent", "Sent"), ("opened", "Unique opens"),
                                              ("clicked", "Unique clicks"), ("conversions", "Conversions"),
                                              ("revenue", "Revenue"), ("metric_shown", metric),
                                              ("win_probability", "Win probability"), ("winner", "Winner")], rows)})
    sections.append(_lift_section(report["holdout_lift"], money))
    codes = _codes_section(code_rows(campaign.store_id, by="message__variant", dates=dates,
                                     message__campaign=campaign), "Variant", campaign.store.currency)
    if codes:
        sections.append(codes)
    totals = report["totals"]
    summary = [("Sent", display("sent", totals["sent"])), ("Open rate", display("open_rate", totals["open_rate"])),
               ("Click rate", display("click_rate", totals["click_rate"])),
               ("Revenue", f"{money}{display('revenue', totals['revenue'])}"),
               ("Revenue per recipient", display("revenue_per_recipient", totals["revenue_per_recipient"]))]
    return _page(request, title=f"Campaign report: {campaign.name}", store=campaign.store, sections=sections,
                 dates=dates, range_error=error, summary=summary, export_prefix=f"campaign-{campaign.pk}")


def flow_view(request, flow_id: int):
    flow = Flow.objects.filter(store__in=visible_stores(request.user), pk=flow_id).select_related("store").first()
    if flow is None:
        raise Http404("No such flow")
    dates, error = _dates(request, optional=True, zone=flow.store.timezone)
    report = reports.flow_report(flow, dates)
    sections = _kpi_sections(report, ("step_name", "Step"), "steps", "Per step", flow.store.currency)
    if report["variants"]:
        from ..campaign.abtest import split_verdict

        verdicts = [f"{step}: {split_verdict(flow, step)}" for step in flow.steps.filter(kind="ab_split")]
        sections.insert(2, {"title": "A/B split variants (per step)", "note": " ".join(verdicts), "table": Table(
            "variants", "Variants", [("step_name", "Step"), ("variant", "Variant"), *KPI_COLUMNS], report["variants"])})
    sections.append(_lift_section(report["holdout_lift"], f"{flow.store.currency} "))
    codes = _codes_section(code_rows(flow.store_id, by="message__step__name", dates=dates, message__flow=flow),
                           "Step", flow.store.currency)
    if codes:
        sections.append(codes)
    return _page(request, title=f"Flow report: {flow.name}", store=flow.store, sections=sections, dates=dates,
                 range_error=error, export_prefix=f"flow-{flow.pk}")


def segment_view(request, segment_id: int):
    from segments.models import Segment

    segment = Segment.objects.filter(store__in=visible_stores(request.user), pk=segment_id).select_related(
        "store").first()
    if segment is None:
        raise Http404("No such segment")
    dates, error = _dates(request, optional=True, zone=segment.store.timezone)
    report = reports.segment_report(segment, dates)
    facts = report["segment"]
    money = f"{segment.store.currency} "
    split = [{"sends": "Campaigns that targeted this segment", **report["targeted"]},
             {"sends": "Everything else the members got", **report["untargeted"]}]
    sections = [
        {"title": "Targeted versus untargeted sends to the current members",
         "table": Table("split", "Targeted vs untargeted", [("sends", "Sends"), *KPI_COLUMNS], split)},
        {"title": "Per day (by send day)",
         "chart": line_chart([(str(d["day"]), d["sent"]) for d in report["days"]], "Sent per day"),
         "table": Table("days", "Per day", [("day", "Day"), *KPI_COLUMNS], report["days"])},
    ]
    summary = [("Members", display("size", facts["size"])),
               ("Average lifetime value", f"{money}{display('revenue', facts['average_lifetime_value'])}"),
               ("Reachable by email", display("reachable_share", facts["reachable_share"]))]
    return _page(request, title=f"Segment report: {segment.name}", store=segment.store, sections=sections,
                 dates=dates, range_error=error, summary=summary, export_prefix=f"segment-{segment.pk}")

"""The flow change page as a canvas: the trigger panel on top (event picked from the vocabulary with its
property filters built by the segment builder in "where" mode, segment picked by name, date property,
re-entry rule and exit goal in words), then the steps as cards (``static/campaigns/flow-canvas.js``).

The canvas posts its tree (``campaigns.flows.canvas``) in a hidden field; the server turns it into steps,
checks them with the one validator (``campaigns.flows.editing.validate_flow``, as the API does) and saves
them in place (``save_steps``), so a live flow keeps its history. Errors come back on the card they are
about. Enabling goes through a confirmation page that names the enabled flows with the same trigger and
offers to turn them off; each email card can send a test of its email to the logged-in user.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from shopconnect.tenancy import StoreScopedAdminMixin, has_role, visible_stores
from shopconnect.timeline import vocabulary

from .campaign.abtest import flow_step_numbers, probabilities, split_verdict
from .flow_form import CARDS_MARKED, FlowForm, describe_trigger, overlapping
from .flows import relevance
from .flows.canvas import card_numbers
from .flows.editing import FlowErrors, save_steps, validate_flow
from .models import EmailTemplate, Enrollment, Flow, FlowStep, MessageClass


class FlowAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = FlowForm
    change_form_template = "admin/campaigns/flow/change_form.html"
    list_display = ("name", "store", "enabled", "trigger", "trigger_event_type", "active_count", "sent_count")
    list_filter = ("store", "enabled", "trigger")
    readonly_fields = ("status", "relevance_in_effect", "ab_results")
    actions = ["enable", "disable"]
    fieldsets = (
        (None, {"fields": ("name", "store", "status")}),
        ("Trigger", {"classes": ("flow-trigger",), "fields": (
            "trigger", "trigger_event_type", "custom_event", "trigger_filters", "trigger_segment_id", "date_property",
            ("reentry", "reentry_days"), "exit_goal")}),
        ("More settings", {"classes": ("collapse",), "fields": (
            "flow_filters", "holdout_percent", "relevance_hours", "relevance_in_effect", "ab_results")}),
    )

    class Media:
        css = {"all": ("workspace/workspace.css", "campaigns/flow-canvas.css")}
        js = ("campaigns/flow-canvas.js",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_active=Count("enrollments", filter=Q(enrollments__status="active"), distinct=True),
            n_sent=Count("messages", filter=Q(messages__state="sent"), distinct=True),
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/enable/", view(self.enable_view), name="campaigns_flow_enable"),
            path("<int:pk>/disable/", view(require_POST(self.disable_view)), name="campaigns_flow_disable"),
            path("send-test/", view(require_POST(self.send_test_view)), name="campaigns_flow_send_test"),
            path("check/", view(require_POST(self.check_view)), name="campaigns_flow_check"),
        ] + super().get_urls()

    @admin.display(description="Active", ordering="n_active")
    def active_count(self, flow):
        return flow.n_active

    @admin.display(description="Sent", ordering="n_sent")
    def sent_count(self, flow):
        return flow.n_sent

    @admin.display(description="Status")
    def status(self, flow: Flow) -> str:
        from django.utils.html import format_html

        if not flow.pk:
            return format_html('<span class="fc-status-off">{}</span>: save the flow, then turn it on.', "Off")
        if flow.enabled:
            return format_html('<span class="fc-status-on">On</span>: customers enter {} and move through it.',
                               describe_trigger(flow))
        return format_html('<span class="fc-status-off">{}</span>: nobody enters; customers already in it wait '
                           "where they are.", "Off")

    @admin.display(description="Relevance window in effect")
    def relevance_in_effect(self, flow: Flow) -> str:
        return relevance.describe(flow) if flow.pk else "Save the flow to see its window."

    @admin.display(description="A/B splits")
    def ab_results(self, flow: Flow) -> str:
        """Each A/B split step's variants: recipients, opens, clicks, orders and win probability."""
        from django.utils.html import format_html, format_html_join

        if not flow.pk:
            return "-"
        tables = []
        for step in flow.steps.filter(kind=FlowStep.Kind.AB_SPLIT).order_by("position"):
            metric = (step.config or {}).get("metric") or "order_rate"
            numbers = flow_step_numbers(flow, step)
            chance = probabilities(numbers, metric)
            rows = [(n.label, n.recipients, n.opens, n.clicks, n.buyers, f"{n.revenue:.2f}",
                     f"{chance.get(n.label, 0):.1%}") for n in numbers]
            tables.append(format_html(
                "<p>{} (win probability by {})</p><table><tr><th>Variant</th><th>Recipients</th><th>Opens</th>"
                "<th>Clicks</th><th>Orders</th><th>Revenue</th><th>Win probability</th></tr>{}</table><p><strong>"
                "{}</strong></p>", str(step), metric.replace("_", " "),
                format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows), split_verdict(flow, step)))
        return format_html_join("", "{}", ((t,) for t in tables)) if tables else "No A/B split step."

    # -- the canvas ----------------------------------------------------------------------------------------
    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        stores = visible_stores(request.user)
        templates = [{"id": t.pk, "name": t.name, "store": t.store_id, "subject": t.subject,
                      "edit": reverse("admin:campaigns_emailtemplate_change", args=[t.pk])}
                     for t in EmailTemplate.objects.filter(
                         **({"store_id": obj.store_id} if obj is not None and obj.pk else {"store__in": stores}))
                     .order_by("name").only(
                         "id", "name", "store_id", "subject")]
        numbers = card_numbers(obj.pk) if obj is not None and obj.pk else {}
        context["canvas_options"] = {
            "templates": templates,
            "numbers": {str(k): v for k, v in numbers.items()},
            "errors": form.canvas_errors,
            "classes": [{"value": v, "label": label} for v, label in MessageClass.choices if v != "campaign"],
            "events": [{"value": e.name, "label": e.label, "group": e.group} for e in vocabulary.EVENTS],
            "vocabularyUrl": reverse("admin:segments_segment_vocabulary"),
            "sendTestUrl": reverse("admin:campaigns_flow_send_test"),
            "checkUrl": reverse("admin:campaigns_flow_check") + (f"?flow={obj.pk}" if obj is not None and obj.pk
                                                                 else ""),
            "newTemplateUrl": reverse("admin:campaigns_emailtemplate_add"),
            "store": obj.store_id if obj is not None else None,
            "readOnly": not self.has_change_permission(request, obj),
        }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.enabled = False  # a new flow starts off; turning it on is confirmed (enable_view)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.specs is not None:
            save_steps(form.instance, form.specs)

    def response_add(self, request, obj, post_url_continue=None):
        messages.info(request, f"“{obj}” is saved and off. Turn it on with “Turn on…” when it is ready.")
        return redirect(reverse("admin:campaigns_flow_change", args=[obj.pk]))

    def response_change(self, request, obj):
        if "_turn_on" in request.POST:
            messages.info(request, f"“{obj}” is saved.")
            return redirect(reverse("admin:campaigns_flow_enable", args=[obj.pk]))
        return super().response_change(request, obj)

    # -- turning on and off ----------------------------------------------------------------------------------
    def _flow(self, request, pk: int) -> Flow:
        flow = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_change_permission(request, flow):
            raise Http404("No permission")
        return flow

    def enable_view(self, request, pk: int):
        """GET: what turning the flow on does, and the enabled flows with the same trigger (each may be
        turned off here); POST: do it and say what happened."""
        flow = self._flow(request, pk)
        change_url = reverse("admin:campaigns_flow_change", args=[flow.pk])
        others = list(overlapping(flow))
        problems = []
        try:
            validate_flow(flow, [{"id": s.pk, "position": s.position, "kind": s.kind, "name": s.name,
                                  "template": s.template_id, "message_class": s.message_class, "config": s.config}
                                 for s in flow.steps.all()])
        except FlowErrors as exc:
            problems = [why for whys in (*exc.fields.values(), *exc.steps.values()) for why in whys]
        if not flow.steps.exists():
            problems.append("The flow has no steps yet.")
        if request.method == "POST" and not problems:
            chosen = {int(x) for x in request.POST.getlist("disable") if x.isdigit()}
            with transaction.atomic():
                off = [o for o in others if o.pk in chosen]
                Flow.objects.filter(pk__in=[o.pk for o in off]).update(enabled=False)
                Flow.objects.filter(pk=flow.pk).update(enabled=True)
            said = f"“{flow}” is on: customers enter {describe_trigger(flow)}."
            if off:
                said += " Turned off: " + ", ".join(f"“{o}” ({o.n_active} customer(s) in it wait where they are)"
                                                   for o in off) + "."
            kept = [o for o in others if o.pk not in chosen]
            if kept:
                said += " Still on with the same trigger: " + ", ".join(f"“{o}”" for o in kept) + "."
            messages.success(request, said)
            return redirect(change_url)
        return render(request, "admin/campaigns/flow/enable_confirm.html", {
            **self.admin_site.each_context(request), "title": f"Turn on “{flow}”?", "flow": flow,
            "opts": self.model._meta, "trigger_words": describe_trigger(flow), "others": others,
            "problems": problems, "change_url": change_url, "steps": flow.steps.count(),
        })

    def disable_view(self, request, pk: int):
        flow = self._flow(request, pk)
        Flow.objects.filter(pk=flow.pk).update(enabled=False)
        waiting = Enrollment.objects.filter(flow=flow, status=Enrollment.Status.ACTIVE).count()
        messages.success(request, f"“{flow}” is off: nobody new enters; {waiting} customer(s) in it wait where "
                                  "they are until it is turned on again.")
        return redirect(reverse("admin:campaigns_flow_change", args=[flow.pk]))

    def check_view(self, request):
        """POST the change form as it is now (``?flow=ID`` for an existing flow): the same validation as
        saving, nothing saved; the canvas shows the answer on the cards and fields as the marketer edits."""
        flow_id = request.GET.get("flow") or ""
        obj = self._flow(request, int(flow_id)) if flow_id.isdigit() else None
        if obj is None and not self.has_add_permission(request):
            raise Http404("No permission")
        form = self.get_form(request, obj, change=obj is not None)(request.POST, instance=obj)
        with transaction.atomic():
            valid = form.is_valid()
            transaction.set_rollback(True)  # a check never changes anything
        fields = {}
        for name, errors in form.errors.items():
            whys = [str(m) for m in errors if str(m) != CARDS_MARKED]  # the cards say that themselves
            if whys:
                fields[str(form.fields[name].label) if name in form.fields else "The flow"] = whys
        return JsonResponse({"valid": valid, "cards": form.canvas_errors, "fields": fields})

    def send_test_view(self, request):
        """POST template=ID: that email, rendered for one of its store's customers, to the logged-in user."""
        from shopconnect.timeline.models import Customer

        from . import editor
        from .providers import ProviderNotConfigured
        from .rendering import TemplateProblem

        template = EmailTemplate.objects.filter(store__in=visible_stores(request.user),
                                                pk=(request.POST.get("template") or "0")[:12]
                                                if (request.POST.get("template") or "").isdigit() else 0).first()
        if template is None or not has_role(request.user, template.store_id, self.edit_role):
            return JsonResponse({"error": "Choose an email first."}, status=400)
        if not request.user.email:
            return JsonResponse({"error": "Your user has no email address: add one under Settings → Users."},
                                status=400)
        customer = Customer.objects.filter(store_id=template.store_id, deleted_at__isnull=True).order_by(
            "-id").first()
        if customer is None:
            return JsonResponse({"error": "The store has no customers yet to show the email with."}, status=400)
        source = editor.Source(subject=template.subject, html=template.html, text=template.text,
                               discount_code=template.discount_code)
        try:
            said = editor.send_test(template.store, customer, source, request.user.email)
        except (ValidationError, ProviderNotConfigured, TemplateProblem, ValueError) as exc:
            return JsonResponse({"error": f"Not sent: {exc}"}, status=400)
        except Exception as exc:  # the provider's own error, shown to the person who asked
            return JsonResponse({"error": f"The provider refused the test: {type(exc).__name__}"}, status=502)
        return JsonResponse({"sent": said})

    @admin.action(description="Turn on (one flow, confirmed)")
    def enable(self, request, queryset):
        flows = list(queryset[:2])
        if len(flows) != 1:
            self.message_user(request, "Choose one flow to turn on: each is confirmed with the flows it overlaps.",
                              messages.WARNING)
            return None
        return redirect(reverse("admin:campaigns_flow_enable", args=[flows[0].pk]))

    @admin.action(description="Turn off (customers in them wait where they are)")
    def disable(self, request, queryset):
        count = queryset.update(enabled=False)
        self.message_user(request, f"{count} flow(s) turned off; nobody new enters them.")

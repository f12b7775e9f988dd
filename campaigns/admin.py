"""Admin: email provider (send test email), flows (steps in
order, enable/disable, per-step counts, A/B split results), enrollments (with the decision log), the
outbox (with the copy of each sent email) and the suppression list; campaigns live in
``campaigns/campaign/admin.py`` and templates (the editor) in ``campaigns/template_admin.py``. Every view is
scoped to the user's stores (``StoreScopedAdminMixin``)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from shopconnect.tenancy import StoreScopedAdminMixin, StoreScopedInlineMixin

from . import template_admin  # noqa: F401 (registers EmailTemplateAdmin: the editor with its live preview)
from .campaign import admin as campaign_admin  # noqa: F401 (registers CampaignAdmin)
from .campaign.abtest import flow_step_numbers, probabilities, split_verdict
from .flows import relevance
from .frequency_admin import FrequencyCapAdmin  # noqa: F401 (registers it)
from .models import EmailProvider, Enrollment, Flow, FlowDecision, FlowStep, Message, Suppression
from .providers import development_kinds_allowed, failure_summary, send_test_email


class EmailProviderForm(forms.ModelForm):
    """Credentials are write-only: never shown back; leaving the field empty keeps the stored value."""

    credentials = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                  help_text='JSON, for example {"api_key": "..."} or {"host": ..., "port": 587, '
                                            '"username": ..., "password": ..., "use_tls": true}.')

    class Meta:
        model = EmailProvider
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not development_kinds_allowed() and "kind" in self.fields:  # the file kind exists only with DEBUG
            self.fields["kind"].choices = [c for c in self.fields["kind"].choices if c[0] != EmailProvider.Kind.FILE]

    def clean_credentials(self):
        value = self.cleaned_data.get("credentials") or ""
        if not value and self.instance.pk:
            return self.instance.credentials
        if value:
            try:
                if not isinstance(json.loads(value), dict):
                    raise forms.ValidationError("must be a JSON object")
            except ValueError as exc:
                raise forms.ValidationError(f"not valid JSON: {exc}") from exc
        return value


@admin.register(EmailProvider)
class EmailProviderAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    edit_role = "owner"  # the provider and its credentials are the owner's (shopconnect.tenancy)
    form = EmailProviderForm
    list_display = ("store", "kind", "from_email", "rate_limit_per_minute", "smart_sending_hours")
    actions = ["send_test"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        provider = self.get_object(request, object_id)
        if provider is not None and provider.problem and request.method == "GET":
            self.message_user(request, provider_alert(provider), messages.ERROR)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Send a test email to me")
    def send_test(self, request, queryset):
        if not request.user.email:
            self.message_user(request, "Your user has no email address.", messages.ERROR)
            return
        for provider in queryset:
            try:
                send_test_email(provider, request.user.email)
            except Exception as exc:  # ours say why; the provider's own answer is never echoed
                self.message_user(request, f"{provider.store}: not sent: {failure_summary(exc)}", messages.ERROR)
            else:
                self.message_user(request, f"{provider.store}: test email sent to {request.user.email}.")


def provider_alert(provider: EmailProvider) -> str:
    """The owner's alert while the store's provider fails (``EmailProvider.problem``, set by the sender)."""
    since = timezone.localtime(provider.problem_at).strftime("%Y-%m-%d %H:%M") if provider.problem_at else "?"
    return (f"{provider.get_kind_display()} cannot send: {provider.problem} (since {since}). Other stores are not "
            "affected. Once it is fixed, failed messages can be sent again from Messages (filter by state).")


class FlowStepInline(StoreScopedInlineMixin, admin.StackedInline):
    model = FlowStep
    extra = 0
    ordering = ["position"]
    fields = ("position", "kind", "name", "template", "message_class", "config")


@admin.register(Flow)
class FlowAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "store", "enabled", "trigger", "trigger_event_type", "active_count", "sent_count")
    list_filter = ("store", "enabled", "trigger")
    inlines = [FlowStepInline]
    readonly_fields = ("relevance_in_effect", "step_counts", "ab_results")
    actions = ["enable", "disable"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_active=Count("enrollments", filter=Q(enrollments__status="active"), distinct=True),
            n_sent=Count("messages", filter=Q(messages__state="sent"), distinct=True),
        )

    @admin.display(description="Active", ordering="n_active")
    def active_count(self, flow):
        return flow.n_active

    @admin.display(description="Sent", ordering="n_sent")
    def sent_count(self, flow):
        return flow.n_sent

    @admin.display(description="Relevance window in effect")
    def relevance_in_effect(self, flow: Flow) -> str:
        return relevance.describe(flow) if flow.pk else "Save the flow to see its window."

    @admin.display(description="Per-step counts")
    def step_counts(self, flow: Flow) -> str:
        if not flow.pk:
            return "-"
        at_step = dict(Enrollment.objects.filter(flow=flow, status="active").values("position")
                       .annotate(n=Count("id")).values_list("position", "n"))
        by_state: dict[int, dict[str, int]] = {}
        for step_id, state, n in (Message.objects.filter(flow=flow).values("step_id", "state")
                                  .annotate(n=Count("id")).values_list("step_id", "state", "n")):
            by_state.setdefault(step_id, {})[state] = n
        rows = [(str(step), at_step.get(step.position, 0), ", ".join(f"{k} {v}" for k, v in
                                                                     sorted(by_state.get(step.pk, {}).items())) or "-")
                for step in flow.steps.order_by("position")]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        return format_html("<table><tr><th>Step</th><th>Waiting here</th><th>Messages</th></tr>{}</table>", body)

    @admin.display(description="A/B splits")
    def ab_results(self, flow: Flow) -> str:
        """Each A/B split step's variants: recipients, opens, clicks, orders and win probability."""
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

    @admin.action(description="Enable")
    def enable(self, request, queryset):
        queryset.update(enabled=True)

    @admin.action(description="Disable (enrolled customers pause)")
    def disable(self, request, queryset):
        queryset.update(enabled=False)


class DecisionInline(StoreScopedInlineMixin, admin.TabularInline):
    model = FlowDecision
    extra = 0
    can_delete = False
    fields = readonly_fields = ("at", "kind", "step", "detail")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Enrollment)
class EnrollmentAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_path = "flow__store"
    list_display = ("customer", "customer_email", "flow", "status", "position", "due_at", "entered_at",
                    "exit_reason")
    list_filter = ("status", "flow")
    search_fields = ("customer__email", "customer__first_name", "customer__last_name")
    list_select_related = ("customer", "flow")
    readonly_fields = ("flow", "customer", "trigger_event", "entry_key", "checkout_ref", "status", "position",
                       "due_at", "waiting_since", "variant", "entered_at", "finished_at", "exit_reason")
    inlines = [DecisionInline]

    customer_email = admin.display(description="Email", ordering="customer__email")(
        lambda self, obj: obj.customer.email or "-")

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("id", "customer", "customer_email", "subject", "state", "skip_reason", "note", "message_class",
                    "source", "created_at", "sent_at")
    list_filter = ("state", "campaign", "flow", "message_class", "store")
    search_fields = ("customer__email", "customer__first_name", "customer__last_name", "subject",
                     "idempotency_key", "provider_message_id")
    list_select_related = ("customer", "flow", "campaign")
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("customer_link", "source", "state", "skip_reason", "note", "subject", "sent_at")}),
        ("The copy that was sent", {"fields": ("sent_copy_view",)}),
        ("Details", {"classes": ("collapse",), "fields": (
            "store", "template", "message_class", "variant", "ab_test", "marketing", "idempotency_key", "attempts",
            "next_attempt_at", "provider_message_id", "trigger_event", "enrollment", "created_at")}),
    )
    readonly_fields = ("customer_link", "source", "sent_copy_view")
    actions = ["send_again"]

    class Media:
        css = {"all": ("workspace/workspace.css",)}

    @admin.action(description="Send again (in doubt or failed)")
    def send_again(self, request, queryset):
        """Messages in doubt (the worker stopped while the provider had them) or failed, queued again after
        a confirmation page that says how many may reach their customer twice."""
        rows = list(queryset.filter(state__in=[Message.State.UNKNOWN, Message.State.FAILED])
                    .select_related("customer").order_by("id")[:1000])
        if request.POST.get("confirm") != "yes":
            in_doubt = sum(m.state == Message.State.UNKNOWN for m in rows)
            return TemplateResponse(request, "admin/campaigns/message/send_again.html", {
                **self.admin_site.each_context(request), "title": "Send again?", "rows": rows,
                "in_doubt": in_doubt, "failed": len(rows) - in_doubt, "opts": self.model._meta})
        count = Message.objects.filter(pk__in=[m.pk for m in rows],
                                       state__in=[Message.State.UNKNOWN, Message.State.FAILED]).update(
            state=Message.State.QUEUED, attempts=0, next_attempt_at=timezone.now(), claim_token="",
            note=f"sent again by {request.user.get_username()}"[:300])
        self.message_user(request, f"{count} message{'s' if count != 1 else ''} queued to be sent again.")

    customer_email = admin.display(description="Email", ordering="customer__email")(
        lambda self, obj: obj.customer.email or "-")

    @admin.display(description="Customer")
    def customer_link(self, obj: Message):
        url = reverse("admin:timeline_customer_change", args=[obj.customer_id]) + "?tab=messages"
        return format_html('<a href="{}">{}</a> ({})', url, obj.customer, obj.customer.email or "no email")

    @admin.display(description="From")
    def source(self, obj: Message) -> str:
        if obj.campaign_id:
            return f"Campaign: {obj.campaign}"
        if obj.flow_id:
            return f"Flow: {obj.flow}"
        return "-"

    @admin.display(description="Copy")
    def sent_copy_view(self, obj: Message):
        from .models import SentCopy

        copy = SentCopy.objects.filter(message=obj).first()
        if copy is None:
            return ("Not sent, so there is no copy." if obj.state != Message.State.SENT else
                    "Sent before copies were kept: no copy stored.")
        parts = copy.parts()
        note = " (long email: cut to the first 100,000 characters)" if copy.truncated else ""
        return format_html(
            '<div class="sent-copy"><p><strong>Subject:</strong> {}{}</p>'
            '<iframe sandbox title="The email as sent" srcdoc="{}"></iframe>'
            '<details><summary>Text part</summary><pre>{}</pre></details></div>',
            copy.subject, note, parts.get("html", ""), parts.get("text", ""))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Suppression)
class SuppressionAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("email", "store", "reason", "detail", "created_at")
    list_filter = ("reason", "store")
    search_fields = ("email",)

    def save_model(self, request, obj, form, change):
        obj.email = obj.email.strip().lower()
        super().save_model(request, obj, form, change)



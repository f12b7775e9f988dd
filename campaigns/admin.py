"""Admin: email provider (send test email), flows (the canvas, in ``campaigns/flow_admin.py``), enrollments
(with the decision log), the outbox (with the copy of each sent email) and the suppression list; campaigns
live in ``campaigns/campaign/admin.py`` and templates (the editor) in ``campaigns/template_admin.py``. Every view is
scoped to the user's stores (``StoreScopedAdminMixin``)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from shopconnect.tenancy import StoreScopedAdminMixin, StoreScopedInlineMixin

from . import template_admin  # noqa: F401 (registers EmailTemplateAdmin: the editor with its live preview)
from .campaign import admin as campaign_admin  # noqa: F401 (registers CampaignAdmin)
from .flow_admin import FlowAdmin
from .frequency_admin import FrequencyCapAdmin  # noqa: F401 (registers it)
from .models import EmailProvider, Enrollment, Flow, FlowDecision, Message, Suppression
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


admin.site.register(Flow, FlowAdmin)  # the flow canvas: campaigns/flow_admin.py


def provider_alert(provider: EmailProvider) -> str:
    """The owner's alert while the store's provider fails (``EmailProvider.problem``, set by the sender)."""
    since = timezone.localtime(provider.problem_at).strftime("%Y-%m-%d %H:%M") if provider.problem_at else "?"
    return (f"{provider.get_kind_display()} cannot send: {provider.problem} (since {since}). Other stores are not "
            "affected. Once it is fixed, failed messages can be sent again from Messages (filter by state).")


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



"""Email template admin: the editor. Source on the left, the live preview on the right (desktop and mobile
widths, subject and preheader), for a customer found by name or email among all the store's customers or
"a member of segment X"; an insert menu of the variables (with their values for the previewed customer)
and of reusable blocks; "Send a test to me". The JSON endpoints are ``get_urls`` views behind the admin
login, answering only for the user's stores. The logic is in ``campaigns.editor``.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from shopconnect.tenancy import StoreScopedAdminMixin, require_role, visible_stores
from shopconnect.timeline.models import Customer, StoreMembership

from . import editor
from .models import EmailTemplate
from .providers import ProviderNotConfigured, failure_summary
from .rendering import TemplateProblem

MAX_SOURCE = 200_000  # characters of template source a preview request may carry


def _int(value) -> int | None:
    return int(value) if str(value or "").isdigit() else None


@admin.register(EmailTemplate)
class EmailTemplateAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "store", "subject", "updated_at", "preview_link")
    list_filter = ("store",)
    search_fields = ("name", "subject")
    fieldsets = (
        (None, {"fields": ("store", "name", "subject", "html", "text", "discount_code")}),
        ("Unique discount code", {
            "fields": ("unique_code", ("code_discount_type", "code_value"), ("code_valid_days", "code_minimum_order"),
                       "code_once_per_customer", "code_prefix"),
            "description": "Each recipient gets their own code, created on your store when the email is sent "
                           "(one per recipient and email; a retried send reuses it). Put {{ discount_code }} in "
                           "the email where it should appear; the preview shows a sample code."}),
    )

    class Media:
        css = {"all": ("workspace/workspace.css",)}
        js = ("campaigns/editor.js",)

    @admin.display(description="Preview")
    def preview_link(self, obj: EmailTemplate) -> str:
        return format_html('<a href="{}">edit with preview</a>',
                           reverse("admin:campaigns_emailtemplate_change", args=[obj.pk]))

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in ("html", "text") and field is not None:
            field.widget.attrs.update({"rows": 22 if db_field.name == "html" else 6, "spellcheck": "false",
                                       "class": "editor-source-text", "data-editor-part": db_field.name})
        if db_field.name in ("subject", "discount_code", "unique_code", "code_prefix") and field is not None:
            field.widget.attrs.update({"data-editor-part": db_field.name})
        return field

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/preview/", view(self.preview), name="campaigns_emailtemplate_preview"),
            path("editor/customers/", view(self.customers_view), name="campaigns_emailtemplate_customers"),
            path("editor/segment-member/", view(self.segment_member_view),
                 name="campaigns_emailtemplate_segment_member"),
            path("editor/render/", view(require_POST(self.render_view)), name="campaigns_emailtemplate_render"),
            path("editor/send-test/", view(require_POST(self.send_test_view)),
                 name="campaigns_emailtemplate_send_test"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**self._editor_context(request, object_id),
                                                                  **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        return super().add_view(request, form_url, {**self._editor_context(request, None), **(extra_context or {})})

    def _editor_context(self, request, object_id) -> dict:
        from segments.models import Segment

        stores = visible_stores(request.user)
        template = self.get_queryset(request).filter(pk=object_id).first() if object_id else None
        chosen = None
        wanted = _int(request.GET.get("customer"))
        if wanted and template is not None:
            chosen = Customer.objects.filter(pk=wanted, store=template.store).first()
        segments = Segment.objects.filter(store__in=stores, is_active=True).order_by("store", "name")
        return {"editor": {
            "customer": chosen, "customer_label": editor.label(chosen) if chosen else "",
            "segments": segments.values("pk", "name", "store_id"),
            "user_email": request.user.email,
            "urls": {name: reverse(f"admin:campaigns_emailtemplate_{name}")
                     for name in ("customers", "segment_member", "render", "send_test")},
        }}

    def preview(self, request, pk: int):
        """The old preview page: now the editor, with the asked-for customer selected."""
        get_object_or_404(self.get_queryset(request), pk=pk)
        url = reverse("admin:campaigns_emailtemplate_change", args=[pk])
        customer = _int(request.GET.get("customer"))
        return redirect(f"{url}?customer={customer}" if customer else url)

    def _store(self, request, value):
        store = visible_stores(request.user).filter(pk=_int(value) or 0).first()
        if store is None:
            raise Http404("No such store")
        return store

    def _customer(self, store, value) -> Customer:
        customer = Customer.objects.filter(store=store, pk=_int(value) or 0).first()
        if customer is None:
            raise Http404("No such customer")
        return customer

    def customers_view(self, request):
        """GET ?store=ID&q=words: up to 20 of the store's customers whose name or email matches."""
        store = self._store(request, request.GET.get("store"))
        query = (request.GET.get("q") or "").strip()[:100]
        found = editor.search_customers(store, query)[: editor.SEARCH_LIMIT] if query else []
        return JsonResponse({"results": [{"id": c.pk, "label": editor.label(c)} for c in found]})

    def segment_member_view(self, request):
        """GET ?store=ID&segment=ID&position=N: the N-th member of the segment (for "a member of segment X")."""
        store = self._store(request, request.GET.get("store"))
        customer, count = editor.segment_member(store, _int(request.GET.get("segment")) or 0,
                                                _int(request.GET.get("position")) or 0)
        if customer is None:
            return JsonResponse({"error": "This segment has no members right now."}, status=404)
        return JsonResponse({"id": customer.pk, "label": editor.label(customer), "members": count})

    def _source(self, request) -> editor.Source:
        parts = {name: request.POST.get(name, "") for name in ("subject", "html", "text", "discount_code")}
        if sum(len(v) for v in parts.values()) > MAX_SOURCE:
            raise ValidationError(f"the template is longer than {MAX_SOURCE:,} characters")
        return editor.Source(**parts, unique_code=bool(request.POST.get("unique_code")),
                             code_prefix=request.POST.get("code_prefix", "")[:20])

    def render_view(self, request):
        """POST store, customer, subject, html, text, discount_code: the preview as JSON."""
        store = self._store(request, request.POST.get("store"))
        customer = self._customer(store, request.POST.get("customer"))
        try:
            source = self._source(request)
        except ValidationError as exc:
            return JsonResponse({"error": exc.messages[0]}, status=400)
        return JsonResponse(editor.render_for(store, customer, source))

    def send_test_view(self, request):
        """POST (as render): send the rendered email to the logged-in user through the store's provider."""
        if not self.has_change_permission(request):
            raise Http404("No permission")
        store = self._store(request, request.POST.get("store"))
        require_role(request.user, store, StoreMembership.Role.MARKETER)
        customer = self._customer(store, request.POST.get("customer"))
        if not request.user.email:
            return JsonResponse({"error": "Your user has no email address: add one under Settings → Users."},
                                status=400)
        try:
            message = editor.send_test(store, customer, self._source(request), request.user.email)
        except (ValidationError, ProviderNotConfigured, TemplateProblem) as exc:  # ours: they say why
            return JsonResponse({"error": f"Not sent: {exc}"}, status=400)
        except Exception as exc:  # the provider's or the network's error: never echoed (campaigns.providers)
            return JsonResponse({"error": f"Not sent: {failure_summary(exc)}"}, status=502)
        return JsonResponse({"sent": message})

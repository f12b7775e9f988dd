"""Admin: the signup form designer (live preview, no JSON), the store's opt-in settings, submissions.

The preview is drawn by the storefront's own forms.js (``shopconnectForms.preview(config, element)``),
so what the marketer sees is what visitors get.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone

from shopconnect.tenancy import StoreScopedAdminMixin

from .models import FormDay, SignupForm, SignupSettings, StockRequest, Submission
from .views import FORMS_SOURCE


class ColourInput(forms.TextInput):
    input_type = "color"


class SignupFormForm(forms.ModelForm):
    fields = forms.MultipleChoiceField(
        choices=SignupForm.FIELD_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        label="Extra fields", help_text="The email field is always there.")

    class Meta:
        model = SignupForm
        fields = "__all__"
        widgets = {
            "background_colour": ColourInput, "text_colour": ColourInput, "button_colour": ColourInput,
            "button_text_colour": ColourInput, "kind": forms.RadioSelect,
            "body": forms.Textarea(attrs={"rows": 2, "cols": 50}),
            "consent_text": forms.Textarea(attrs={"rows": 2, "cols": 50}),
        }
        labels = {"delay_seconds": "After (seconds)", "scroll_percent": "After scrolling (% of the page)",
                  "exit_intent": "When leaving the page"}


def _rate(submissions: int, views: int) -> str:
    return f"{submissions / views:.1%}" if views else "-"


@admin.register(SignupForm)
class SignupFormAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = SignupFormForm
    change_form_template = "admin/signup/signupform/change_form.html"
    list_display = ("name", "store", "enabled", "views", "submissions", "confirmations", "conversion")
    list_filter = ("enabled", "kind", "store")
    search_fields = ("name",)
    fieldsets = (
        (None, {"fields": ("store", "name", "kind", "enabled")}),
        ("What it says", {"fields": ("headline", "body", "fields", "email_placeholder", "button_label",
                                     "consent_text", "success_text")}),
        ("Colours", {"fields": ("background_colour", "text_colour", "button_colour", "button_text_colour")}),
        ("When the popup appears (any of these; never again for a visitor who closed it or signed up)",
         {"fields": ("delay_seconds", "scroll_percent", "exit_intent"), "classes": ("sc-popup-only",)}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_views=Coalesce(Sum("days__views"), 0), n_submissions=Coalesce(Sum("days__submissions"), 0),
            n_confirmations=Coalesce(Sum("days__confirmations"), 0))

    @admin.display(description="Views", ordering="n_views")
    def views(self, obj) -> int:
        return obj.n_views

    @admin.display(description="Submissions", ordering="n_submissions")
    def submissions(self, obj) -> int:
        return obj.n_submissions

    @admin.display(description="Subscribed", ordering="n_confirmations")
    def confirmations(self, obj) -> int:
        return obj.n_confirmations

    @admin.display(description="Conversion")
    def conversion(self, obj) -> str:
        return _rate(obj.n_submissions, obj.n_views)

    def get_urls(self):
        return [path("renderer.js", self.admin_site.admin_view(self.renderer), name="signup_signupform_renderer")] \
            + super().get_urls()

    def renderer(self, request):
        """The storefront's forms.js: here it only draws previews."""
        return HttpResponse(FORMS_SOURCE, content_type="text/javascript")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            since = timezone.now().date() - timedelta(days=29)
            totals = FormDay.objects.filter(form=obj, day__gte=since).aggregate(
                views=Coalesce(Sum("views"), 0), submissions=Coalesce(Sum("submissions"), 0),
                confirmations=Coalesce(Sum("confirmations"), 0), blocked=Coalesce(Sum("blocked"), 0))
            totals["conversion"] = _rate(totals["submissions"], totals["views"])
            extra_context["stats"] = totals
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(SignupSettings)
class SignupSettingsAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("store", "opt_in", "checkout_optin")
    fields = ("store", "opt_in", "confirmation_template", "checkout_optin", "checkout_optin_label")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "confirmation_template" and not request.user.is_superuser:
            from shopconnect.tenancy import visible_store_ids

            field.queryset = field.queryset.filter(store_id__in=visible_store_ids(request.user))
        return field


@admin.register(Submission)
class SubmissionAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("submitted_at", "email", "form", "kind", "status", "confirmed_at", "store")
    list_filter = ("status", "kind", "store")
    search_fields = ("email",)
    list_select_related = ("form", "store")
    readonly_fields = [f.name for f in Submission._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        if "@" in search_term:
            return queryset.filter(Q(email=search_term.strip().lower())), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(StockRequest)
class StockRequestAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    """Who waits for which sold-out product (read-only: requests come from the storefront form)."""

    list_display = ("requested_at", "email", "product", "variant_title", "notified_at", "store")
    list_filter = (("notified_at", admin.EmptyFieldListFilter), "store")
    search_fields = ("email", "product_id")
    list_select_related = ("store",)
    readonly_fields = [f.name for f in StockRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from django.db.models import OuterRef, Subquery

        from shopconnect.timeline.models import Product

        titles = Product.objects.filter(store_id=OuterRef("store_id"), external_id=OuterRef("product_id"))
        return super().get_queryset(request).annotate(product_title=Subquery(titles.values("title")[:1]))

    @admin.display(description="Product")
    def product(self, obj: StockRequest) -> str:
        return obj.product_title or obj.product_id

"""Admin for stores, customers (with their timeline) and events, scoped to the user's stores."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from shopconnect.privacy.admin import StoreErasureMixin
from shopconnect.privacy.customer_admin import CustomerPrivacyMixin
from shopconnect.tenancy import StoreScopedAdminMixin, StoreScopedInlineMixin, is_operator

from .describe import describe_event
from .models import Customer, CustomerTag, Event, Product, Store, StoreMembership, Visitor

SECRET_FIELDS = ("access_token", "webhook_secret", "consumer_key", "consumer_secret")


class StoreForm(forms.ModelForm):
    """Secrets are write-only: the form never shows a stored value; leaving a field empty keeps it."""

    class Meta:
        model = Store
        fields = "__all__"
        widgets = {name: forms.PasswordInput(render_value=False) for name in SECRET_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_FIELDS:
            if name in self.fields:
                self.fields[name].required = False
                stored = bool(self.instance.pk and getattr(self.instance, name))
                self.fields[name].help_text = "Stored (leave empty to keep)." if stored else "Not set."

    def clean(self):
        data = super().clean()
        for name in SECRET_FIELDS:
            if name in data and not data[name] and self.instance.pk:
                data[name] = getattr(self.instance, name)
        if "domain" in self.fields:  # operators only: where a store lives is theirs to decide
            # Where the store lives decides where its secrets are sent: the platform's rule, checked here
            # and again by the clients at request time (shopconnect.outbound).
            from integrations.registry import clean_store_address
            from shopconnect.outbound import OutboundBlocked

            platform = data.get("platform") or self.instance.platform
            domain = data.get("domain", self.instance.domain) or ""
            url = data.get("url", self.instance.url) or ""
            try:
                domain, url = clean_store_address(platform, domain, url)
            except OutboundBlocked as exc:
                self.add_error("domain" if platform == "shopify" else "url", str(exc))
            else:
                data["domain"], data["url"] = domain, url
        return data


class MembershipInline(StoreScopedInlineMixin, admin.TabularInline):
    """Who may see the store, and as what (README "Roles"); only owners and operators change it."""

    model = StoreMembership
    extra = 0
    autocomplete_fields = ["user"]
    edit_role = "owner"


#: where a store lives (and so where its secrets are sent): operators only (shopconnect.tenancy)
WHERE = ("platform", "domain", "url")


@admin.register(Store)
class StoreAdmin(StoreErasureMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    store_path = ""
    edit_role = "owner"
    form = StoreForm
    list_display = ("__str__", "platform", "domain", "status", "currency", "created_at")
    list_filter = ("platform", "status")
    search_fields = ("name", "domain")
    readonly_fields = ("collect_key", "webhook_url", "created_at", "uninstalled_at")
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return is_operator(request.user)  # stores come from the install flow or operators, never squatters

    def has_delete_permission(self, request, obj=None):
        return is_operator(request.user)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if is_operator(request.user) else (*WHERE, *fields)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:  # an operator who is not a superuser owns what it adds
            StoreMembership.objects.get_or_create(store=obj, user=request.user, defaults={"role": "owner"})

    @admin.display(description="Webhook URL")
    def webhook_url(self, store: Store) -> str:
        from integrations.registry import webhook_url

        return webhook_url(store) if store.pk else "-"


class TagInline(StoreScopedInlineMixin, admin.TabularInline):
    model = CustomerTag
    extra = 0


@admin.register(Customer)
class CustomerAdmin(CustomerPrivacyMixin, StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "__str__", "email", "store", "orders_count", "total_spent", "last_order_at", "email_consent", "last_seen_at"
    )
    list_display_links = ("__str__", "email")
    list_filter = ("email_consent", "device", "country", "store")
    search_fields = ("email", "first_name", "last_name", "external_id")
    list_select_related = ("store",)
    show_full_result_count = False
    inlines = [TagInline]
    readonly_fields = (
        "store", "orders_count", "total_spent", "average_order_value", "first_order_at",
        "last_order_at", "last_seen_at", "last_opened_at", "last_clicked_at", "emails_received", "consent_updated_at",
        "attributes_updated_at", "created_at", "deleted_at",
    )
    fieldsets = (
        (None, {"fields": ("store", "email", "external_id", "first_name", "last_name", "phone", "country",
                           "timezone", "device", "properties")}),
        ("Consent", {"fields": ("email_consent", "consent_updated_at")}),
        ("Aggregates", {"fields": ("orders_count", "total_spent", "average_order_value", "first_order_at",
                                   "last_order_at", "last_seen_at", "last_opened_at", "last_clicked_at",
                                   "emails_received")}),
        ("History", {"fields": ("created_at", "attributes_updated_at", "deleted_at")}),
    )

    def has_add_permission(self, request):
        return False  # customers come from the store's platform and the API

    # The change page is the customer profile (timeline, messages, flows, segments, consent history):
    # shopconnect.workspace.admin registers a subclass with those sections.


@admin.register(Event)
class EventAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "type", "what", "customer_link", "source", "store")
    list_filter = ("type", "source", "store", ("occurred_at", admin.DateFieldListFilter))
    date_hierarchy = "occurred_at"
    search_fields = ("dedupe_key", "order_ref", "customer__email")
    list_select_related = ("customer", "store")
    show_full_result_count = False
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):
        return False  # only record_events writes events

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="What happened")
    def what(self, event: Event) -> str:
        return describe_event(event)

    @admin.display(description="Customer")
    def customer_link(self, event: Event):
        if event.customer_id is None:
            return "anonymous visitor" if event.visitor_id else "-"
        url = reverse("admin:timeline_customer_change", args=[event.customer_id])
        return format_html('<a href="{}">{}</a>', url, event.customer)


@admin.register(Product)
class ProductAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "store", "price", "inventory", "category", "status")
    list_filter = ("store", "status")
    search_fields = ("title", "handle", "external_id")


@admin.register(Visitor)
class VisitorAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    list_display = ("client_id", "store", "customer", "device", "first_seen_at", "identified_at")
    list_filter = ("store", "device")
    search_fields = ("client_id",)
    raw_id_fields = ("customer",)

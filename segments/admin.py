"""The marketer's segment editor: validation with readable errors, the rule in plain language, a live
preview (count and sample, as you type), the template picker, members, size over time, recompute, and
the record of who changed a definition and when. Warnings (tiny, nearly identical) never block."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from shopconnect.inputs import loads, parse_id
from shopconnect.tenancy import StoreScopedAdminMixin, stores_with_role, visible_stores

from .describe import describe
from .membership import current_members
from .models import Segment, SegmentMembership
from .rules import RuleError, parse
from .rules.limits import MAX_BYTES
from .rules.publish import document
from .service import preview, save_segment
from .tasks import recompute_segment
from .templates import BY_KEY, TEMPLATES, create_from_template
from .widgets import RuleBuilderWidget


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["store", "name", "description", "definition", "is_active"]
        widgets = {"definition": RuleBuilderWidget(preview=True)}
        labels = {"definition": "Who is in this segment"}
        help_texts = {"definition": ""}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "definition" in self.fields:
            self.fields["definition"].widget.segment_id = self.instance.pk

    def clean(self):
        data = super().clean()
        store = data.get("store")
        if "definition" in data and store is not None:
            try:
                parse(data["definition"], store, segment_id=self.instance.pk)
            except RuleError as exc:
                self.add_error("definition", ValidationError(f"{exc.path}: {exc.why}", code="invalid_rule"))
        return data


class SegmentAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "store", "members", "template", "version", "updated_at", "updated_by"]
    list_filter = ["store", "is_active"]
    search_fields = ["name", "description"]
    actions = ["recompute"]
    readonly_fields = [
        "rule_text",
        "member_list",
        "size_over_time",
        "change_log",
        "version",
        "template",
        "last_computed_at",
    ]
    change_list_template = "admin/segments/segment/change_list.html"

    def get_urls(self):
        own = [
            path("preview/", self.admin_site.admin_view(self.preview_view), name="segments_segment_preview"),
            path(
                "vocabulary/",
                self.admin_site.admin_view(self.vocabulary_view),
                name="segments_segment_vocabulary",
            ),
            path(
                "templates/",
                self.admin_site.admin_view(self.templates_view),
                name="segments_segment_templates",
            ),
        ]
        return own + super().get_urls()

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404("no such segment")  # another store's segment is simply not there

    @admin.display(description="members")
    def members(self, obj: Segment) -> int:
        return current_members(obj).count()

    @admin.display(description="rule in plain language")
    def rule_text(self, obj: Segment) -> str:
        try:
            return describe(parse(obj.definition, obj.store, segment_id=obj.pk))
        except RuleError as exc:
            return f"invalid: {exc}"

    @admin.display(description="members (newest first)")
    def member_list(self, obj: Segment):
        rows = current_members(obj).select_related("customer").order_by("-entered_at")[:25]
        items = format_html_join(
            "",
            "<li><a href='{}'>{}</a> ({}) since {}</li>",
            (
                (
                    reverse("admin:timeline_customer_change", args=[m.customer_id]),
                    m.customer,
                    m.customer.email or "no email",
                    f"{m.entered_at:%Y-%m-%d %H:%M}",
                )
                for m in rows
            ),
        )
        link = reverse("admin:segments_segmentmembership_changelist") + f"?segment__id__exact={obj.pk}"
        return format_html(
            "<ul>{}</ul><a href='{}'>all {} members and history</a>", items, link, self.members(obj)
        )

    @admin.display(description="size over time")
    def size_over_time(self, obj: Segment):
        snaps = list(obj.snapshots.order_by("-day")[:30])
        if not snaps:
            return "no daily snapshot yet"
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td></tr>", ((s.day, s.size) for s in snaps)),
        )

    @admin.display(description="changes")
    def change_log(self, obj: Segment):
        rows = obj.changes.select_related("user")[:20]
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>v{} by {} at {}</li>",
                ((c.version, c.user or "system", f"{c.changed_at:%Y-%m-%d %H:%M}") for c in rows),
            ),
        )

    def get_fieldsets(self, request, obj=None):
        sets = [
            (None, {"fields": ["store", "name", "description", "is_active"]}),
            (
                "Who is in this segment",
                {
                    "fields": ["definition"],
                    "classes": ["rule-builder-fieldset"],
                    "description": "Build the rule from conditions; the count, some members and the rule in "
                    "words update as you go.",
                },
            ),
        ]
        if obj is not None:
            sets.append(("Members and history", {"fields": self.readonly_fields}))
        return sets

    def save_model(self, request, obj, form, change):
        old = form.initial.get("definition") if change else None
        if isinstance(old, str):
            old = json.loads(old)
        save_segment(obj, request.user, old_definition=old)
        result = preview(obj.store, obj.definition, segment_id=obj.pk, sample_size=0)
        for warning in result.warnings:
            messages.warning(request, warning)

    @admin.action(description="Recompute membership now")
    def recompute(self, request, queryset):
        for segment in queryset:
            entered, exited = recompute_segment(segment.pk)
            messages.info(request, f"{segment}: {entered} entered, {exited} exited")

    def preview_view(self, request):
        """POST {"store", "definition", "segment"?} -> count, sample, plain text, warnings, or where/why."""
        if request.method != "POST":
            raise Http404
        if len(request.body) > 2 * MAX_BYTES:
            return JsonResponse({"where": "$", "why": f"the definition is larger than {MAX_BYTES:,} bytes"}, status=400)
        try:
            body = loads(request.body or b"{}")  # bounded depth: a deep body is a 400, not a 500
            store = visible_stores(request.user).get(pk=parse_id(str(body.get("store"))))
        except (ValueError, TypeError, AttributeError):
            return JsonResponse(
                {"error": "choose a store first (send JSON with a store id and a definition)"}, status=400
            )
        except Exception as exc:  # noqa: BLE001 - DoesNotExist: another store
            raise Http404 from exc
        segment_id = body.get("segment") if isinstance(body.get("segment"), int) else None
        try:
            result = preview(store, body.get("definition"), segment_id=segment_id)
        except RuleError as exc:
            return JsonResponse({"where": exc.path, "why": exc.why}, status=400)
        return JsonResponse(
            {
                "count": result.count,
                "rule_text": result.description,
                "warnings": result.warnings,
                "sample": [
                    {
                        "id": c.pk,
                        "name": f"{c.first_name} {c.last_name}".strip(),
                        "email": c.email or "",
                        "url": reverse("admin:timeline_customer_change", args=[c.pk]),
                    }
                    for c in result.sample
                ],
            }
        )

    def vocabulary_view(self, request):
        """GET -> the rule language's vocabulary (``segments.rules.publish``); ``?store=ID`` adds the
        segments of that store (for "in another segment")."""
        segments = []
        store_id = request.GET.get("store")
        if store_id:
            try:
                store = visible_stores(request.user).get(pk=int(store_id))
            except (ValueError, TypeError):
                return JsonResponse({"error": "store must be a store id"}, status=400)
            except Exception as exc:  # noqa: BLE001 - DoesNotExist: another store
                raise Http404 from exc
            segments = list(Segment.objects.filter(store=store).order_by("name").values("id", "name"))
        return JsonResponse(document(segments))

    def templates_view(self, request):
        stores = stores_with_role(request.user, "marketer")
        if request.method == "POST":
            key = request.POST.get("template")
            store = stores.filter(pk=request.POST.get("store") or 0).first()
            if key not in BY_KEY or store is None:
                raise Http404
            segment = create_from_template(store, key, request.user)
            recompute_segment(segment.pk)
            messages.success(request, f"Created “{segment.name}”.")
            return redirect("admin:segments_segment_change", segment.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Create a segment from a template",
            "templates": [(t, describe(parse(t.definition))) for t in TEMPLATES],
            "stores": stores,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/segments/segment/templates.html", context)


class MembershipAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    store_path = "segment__store"
    list_display = ["segment", "customer", "customer_email", "entered_at", "exited_at"]
    list_filter = ["segment"]
    list_select_related = ["segment", "customer"]
    search_fields = ["customer__email", "customer__first_name", "customer__last_name"]

    @admin.display(description="Email", ordering="customer__email")
    def customer_email(self, obj):
        return obj.customer.email or "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(Segment, SegmentAdmin)
admin.site.register(SegmentMembership, MembershipAdmin)

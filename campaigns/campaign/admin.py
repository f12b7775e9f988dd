"""Campaign admin (registered from ``campaigns/admin.py``): the campaign with its A/B variants inline,
include/exclude segments of its own store, an audience preview, and on the change page the A/B table
(each variant's numbers and win probability) with the winner and its reason.

Launching goes through a review page (``review.review``: audience after exclusions, reachable, holdout and
test shares, each variant's subject and sender, the schedule, problems and warnings) and then a confirm
(Django's intermediate-page pattern, like the delete confirmation). Scheduled and running campaigns are
paused, resumed or cancelled from their page, each with its own confirmation.

A campaign can be edited while it is a draft; once launched its settings are read-only (the outbox rows
already say who gets what).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from segments.models import Segment
from shopconnect.tenancy import StoreScopedAdminMixin, StoreScopedInlineMixin

from ..models import HOLDOUT, Campaign, CampaignVariant
from .abtest import campaign_numbers, decide, default_variant, probabilities
from .audience import preview
from .launch import MAX_VARIANTS, cancel
from .pause import PAUSABLE, pause, resume
from .review import review

SETTINGS = ("store", "name", "template", "include_segments", "exclude_segments", "send_mode", "send_at",
            "holdout_percent", "test_percent", "winning_metric", "test_hours", "win_probability", "min_sample")
RESULTS = ("status", "audience_preview", "ab_table", "winner", "winner_reason", "audience_size", "started_at",
           "test_ends_at", "finished_at")


def check_variants(labels: list[str], defaults: int = 0) -> list[str]:
    """The variant rules shared by the admin and the API (``defaults``: how many are marked default)."""
    out = []
    if defaults > 1:
        out.append("mark at most one variant as the default")
    if len(labels) > MAX_VARIANTS:
        out.append(f"an A/B test has 2 to {MAX_VARIANTS} variants (got {len(labels)})")
    if len(labels) != len(set(labels)):
        out.append("variant labels must be unique")
    if HOLDOUT in labels:
        out.append(f"the label '{HOLDOUT}' is reserved for the holdout group")
    return out


class VariantFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [form.cleaned_data for form in self.forms
                if form.cleaned_data.get("label") and not form.cleaned_data.get("DELETE")]
        found = check_variants([data["label"] for data in kept], sum(1 for data in kept if data.get("is_default")))
        if found:
            raise forms.ValidationError(found)


class VariantInline(StoreScopedInlineMixin, admin.TabularInline):
    model = CampaignVariant
    formset = VariantFormSet
    extra = 0
    fields = ("label", "subject", "template", "from_name", "send_hour", "is_default")
    verbose_name = "A/B variant"
    verbose_name_plural = "A/B variants (2 to 7 for a test; none for one email to everyone)"

    def _editable(self, obj) -> bool:
        return obj is None or obj.status == Campaign.Status.DRAFT

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class CampaignForm(forms.ModelForm):
    """The template and segments are limited to the campaign's store by ``shopconnect.tenancy``."""

    class Meta:
        model = Campaign
        fields = SETTINGS


@admin.register(Campaign)
class CampaignAdmin(StoreScopedAdminMixin, admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "store", "status", "send_mode", "audience_size", "winner", "started_at")
    list_filter = ("status", "store")
    search_fields = ("name",)
    filter_horizontal = ("include_segments", "exclude_segments")
    inlines = [VariantInline]
    actions = ["launch_campaigns"]  # pause and cancel are on the campaign's page, each with a confirmation
    fieldsets = (
        (None, {"fields": ("store", "name", "template", "include_segments", "exclude_segments")}),
        ("Schedule", {"fields": ("send_mode", "send_at")}),
        ("Holdout and A/B test", {"fields": ("holdout_percent", "test_percent", "winning_metric", "test_hours",
                                             "win_probability", "min_sample")}),
        ("Results", {"fields": RESULTS}),
    )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return SETTINGS + RESULTS
        return RESULTS

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name in ("include_segments", "exclude_segments"):  # scoped by shopconnect.tenancy
            kwargs["queryset"] = Segment.objects.select_related("store").order_by("store", "name")
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="Audience")
    def audience_preview(self, campaign: Campaign) -> str:
        if not campaign.pk:
            return "Save the campaign to see its audience."
        p = preview(campaign)
        return format_html("{} customers in the segments after exclusions; {} reachable now (consenting, not "
                           "suppressed); holdout about {}; A/B test share about {}; the rest {}.",
                           p.size, p.reachable, p.holdout, p.test, p.rest)

    @admin.display(description="A/B test")
    def ab_table(self, campaign: Campaign) -> str:
        if not campaign.pk or campaign.variants.count() < 2:
            return "No A/B test (add 2 to 7 variants)."
        numbers = campaign_numbers(campaign)
        chance = probabilities(numbers, campaign.winning_metric)

        def rate(part: float, n: int) -> str:
            return f"{part} ({part / n:.1%})" if n else str(part)

        fallback = default_variant(campaign) if campaign.winner_reason.startswith("no winner") else None

        def name(label: str) -> str:
            if label == campaign.winner:
                return f"{label} (winner)"
            return f"{label} (default: no winner, sent to the rest)" if label == fallback else label

        rows = [(name(n.label), n.recipients,
                 rate(n.opens, n.recipients), rate(n.clicks, n.recipients), rate(n.buyers, n.recipients),
                 f"{n.revenue:.2f}",
                 f"{n.revenue / n.recipients:.2f}" if n.recipients else "-", f"{chance.get(n.label, 0):.1%}")
                for n in numbers]
        body = format_html_join("", "<tr>" + "<td>{}</td>" * 8 + "</tr>", rows)
        titles = ("Variant", "Recipients", "Unique opens", "Clicks", "Orders", "Revenue", "Revenue / recipient",
                  "Win probability")
        head = format_html_join("", "<th>{}</th>", ((t,) for t in titles))
        return format_html("<table><tr>{}</tr>{}</table><p>Win probability by {}.</p><p><strong>{}</strong></p>",
                           head, body, campaign.get_winning_metric_display().lower(),
                           campaign.winner_reason or decide(campaign, timezone.now()).reason)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path(f"<int:pk>/{name}/", view(getattr(self, f"{name}_view")), name=f"campaigns_campaign_{name}")
                for name in ("launch", "pause", "resume", "cancel")] + super().get_urls()

    def _campaign(self, request, pk: int) -> Campaign:
        campaign = self.get_queryset(request).select_related("store", "template").filter(pk=pk).first()
        if campaign is None:
            raise Http404("No such campaign")
        if not self.has_change_permission(request, campaign):
            raise Http404("No permission")
        return campaign

    def _back(self, campaign: Campaign):
        return redirect("admin:campaigns_campaign_change", campaign.pk)

    def _page(self, request, campaign, template: str, title: str, **context):
        return TemplateResponse(request, f"admin/campaigns/campaign/{template}.html", {
            **self.admin_site.each_context(request), "title": title, "campaign": campaign, "original": campaign,
            "opts": self.model._meta, **context})

    def launch_view(self, request, pk: int):
        """GET: the review; POST (the confirm button): launch in the background."""
        from django_q.tasks import async_task

        campaign = self._campaign(request, pk)
        found = review(campaign)
        if request.method == "POST" and found.can_launch:
            async_task("campaigns.tasks.launch_campaign", campaign.pk)
            self.message_user(request, f"“{campaign}” is launching: {found.audience.size:,} customers in the "
                              "audience; the outbox fills in the background. Pause or cancel it from this page.",
                              messages.SUCCESS)
            return self._back(campaign)
        return self._page(request, campaign, "review", f"Review and launch “{campaign}”", review=found)

    def pause_view(self, request, pk: int):
        campaign = self._campaign(request, pk)
        if campaign.status not in PAUSABLE:
            self.message_user(request, f"“{campaign}” is {campaign.get_status_display().lower()}: only a scheduled "
                              "or running campaign can be paused.", messages.ERROR)
            return self._back(campaign)
        if request.method == "POST":
            waiting = pause(campaign.pk)
            self.message_user(request, f"“{campaign}” is paused: {waiting or 0:,} queued emails wait until you "
                              "resume it.", messages.SUCCESS)
            return self._back(campaign)
        return self._page(request, campaign, "confirm", f"Pause “{campaign}”?", action="pause",
                          effect=f"{self._queued(campaign):,} queued emails will wait (emails already sent stay "
                                 "sent); A/B decisions wait too. Resume it from this page.")

    def resume_view(self, request, pk: int):
        campaign = self._campaign(request, pk)
        if request.method == "POST":
            going = resume(campaign.pk)
            if going is None:
                self.message_user(request, f"“{campaign}” is not paused.", messages.ERROR)
            else:
                self.message_user(request, f"“{campaign}” resumed: {going:,} queued emails go out as planned.",
                                  messages.SUCCESS)
            return self._back(campaign)
        return self._page(request, campaign, "confirm", f"Resume “{campaign}”?", action="resume",
                          effect=f"{self._queued(campaign):,} queued emails go out at their planned times (those "
                                 "whose time has passed, at once).")

    def cancel_view(self, request, pk: int):
        campaign = self._campaign(request, pk)
        if campaign.status in (Campaign.Status.SENT, Campaign.Status.CANCELLED, Campaign.Status.DRAFT):
            self.message_user(request, f"“{campaign}” is {campaign.get_status_display().lower()}: nothing to cancel.",
                              messages.ERROR)
            return self._back(campaign)
        if request.method == "POST":
            skipped = cancel(campaign.pk)
            self.message_user(request, f"“{campaign}” is cancelled: {skipped:,} queued emails will not be sent.",
                              messages.SUCCESS)
            return self._back(campaign)
        return self._page(request, campaign, "confirm", f"Cancel “{campaign}”?", action="cancel",
                          effect=f"{self._queued(campaign):,} queued emails will never be sent (they are kept as "
                                 "skipped, reason “campaign cancelled”). This cannot be undone.")

    @staticmethod
    def _queued(campaign: Campaign) -> int:
        from ..models import Message

        return Message.objects.filter(campaign=campaign, state=Message.State.QUEUED).count()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        buttons = []
        if obj is not None:
            if obj.status == Campaign.Status.DRAFT:
                buttons.append(("launch", "Review and launch"))
            if obj.status in PAUSABLE:
                buttons.append(("pause", "Pause"))
            if obj.status == Campaign.Status.PAUSED:
                buttons.append(("resume", "Resume"))
            if obj.status not in (Campaign.Status.DRAFT, Campaign.Status.SENT, Campaign.Status.CANCELLED):
                buttons.append(("cancel", "Cancel sending"))
            buttons = [(reverse(f"admin:campaigns_campaign_{name}", args=[obj.pk]), label) for name, label in buttons]
        return super().change_view(request, object_id, form_url, {"campaign_buttons": buttons,
                                                                  **(extra_context or {})})

    @admin.action(description="Review and launch")
    def launch_campaigns(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select one campaign to review and launch.", messages.ERROR)
            return None
        return redirect("admin:campaigns_campaign_launch", queryset.get().pk)

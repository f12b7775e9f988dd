"""The review before a launch: what will be sent, to whom, when, and what may go wrong.

``review(campaign)`` gathers the audience after exclusions (and how many are reachable now), the holdout
and A/B test shares, each variant's subject, template and sender, the schedule in the store's time zone,
the problems that block the launch (``launch.problems``) and warnings that do not (the minimum sample
that cannot be reached, recipients who will be skipped, a development email backend...). A few COUNT
queries whatever the audience size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils import timezone

from ..models import Campaign, EmailProvider
from ..rendering import TemplateProblem, check_template
from .audience import Preview, preview
from .launch import problems

DEVELOPMENT_KINDS = {"console", "file", "locmem"}


@dataclass
class VariantLine:
    label: str
    subject: str
    template: str
    sender: str
    send_hour: int | None
    recipients: int


@dataclass
class Review:
    campaign: Campaign
    audience: Preview
    include: list[str]
    exclude: list[str]
    variants: list[VariantLine]
    schedule: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def can_launch(self) -> bool:
        return not self.problems


def _schedule(campaign: Campaign) -> str:
    zone = campaign.store.timezone or "UTC"
    if campaign.send_mode == Campaign.SendMode.AT and campaign.send_at:
        local = timezone.localtime(campaign.send_at, timezone=_tz(zone))
        if campaign.send_at <= timezone.now():
            return f"Now (the time set, {local:%Y-%m-%d %H:%M} {zone}, has passed)"
        return f"At {local:%Y-%m-%d %H:%M} ({zone})"
    if campaign.send_mode == Campaign.SendMode.BEST_HOUR:
        return "At each recipient's best hour, in their own time zone, starting now"
    return "Now, as soon as you confirm"


def _tz(name: str):
    from ..reports.kpis import zone_of

    return zone_of(name)


def review(campaign: Campaign) -> Review:
    variants = list(campaign.variants.select_related("template").order_by("label"))
    audience = preview(campaign)
    provider = EmailProvider.objects.filter(store_id=campaign.store_id).first()
    default_sender = provider.from_header if provider else "(no email provider)"
    testing = len(variants) >= 2
    per_variant = audience.test // len(variants) if testing else 0
    lines = []
    for v in variants or [None]:
        template = (v.template if v and v.template_id else None) or campaign.template
        sender = default_sender
        if v and v.from_name and provider:
            sender = f"{v.from_name} <{provider.from_email}>"
        lines.append(VariantLine(
            label=v.label if v else "(one email)", subject=(v.subject if v and v.subject else template.subject),
            template=template.name, sender=sender, send_hour=v.send_hour if v else None,
            recipients=per_variant if testing else audience.size - audience.holdout))
    found = problems(campaign, variants)
    warnings = []
    if provider is None:
        found.append("the store has no email provider: add one under Settings → Email providers")
    elif provider.kind in DEVELOPMENT_KINDS:
        warnings.append(f"The store's email provider is “{provider.get_kind_display()}”: the emails are printed or "
                        "kept here, not delivered to anyone.")
    for line in lines:
        template = next((v.template for v in variants if v.label == line.label and v.template_id), None) \
            or campaign.template
        try:
            check_template(line.subject, template.html, template.text)
        except TemplateProblem as exc:
            found.append(f"{line.label}: the email does not render: {exc}")
    if audience.size == 0:
        found.append("the audience is empty: nobody is in the included segments (after the exclusions)")
    elif audience.reachable == 0:
        found.append("nobody in the audience can receive marketing email now (no consent or suppressed)")
    elif audience.reachable < audience.size:
        skipped = audience.size - audience.reachable
        warnings.append(f"{skipped:,} of {audience.size:,} customers in the audience have no email consent or are "
                        "suppressed: they will be skipped, each with the reason, in Messages.")
    if testing and per_variant < campaign.min_sample:
        warnings.append(
            f"The minimum sample cannot be reached: the test share gives about {per_variant:,} recipients per "
            f"variant and the minimum is {campaign.min_sample:,}. No early winner is possible; the test runs its "
            f"full {campaign.test_hours} hours. Raise the test share or lower the minimum sample to fix it.")
    if testing and audience.rest == 0:
        warnings.append("The test share takes the whole audience: nobody is left to get the winner.")
    return Review(
        campaign=campaign, audience=audience,
        include=[s.name for s in campaign.include_segments.order_by("name")],
        exclude=[s.name for s in campaign.exclude_segments.order_by("name")],
        variants=lines, schedule=_schedule(campaign), problems=found, warnings=warnings)

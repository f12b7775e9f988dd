"""The admin site: navigation grouped by what a marketer does, and a start page as the index.

``get_app_list`` regroups Django's per-app lists into task headings (Audience, Messages, Reports,
Settings, Privacy) and puts the machinery (tasks, deliveries, tokens, sync states, collect batches...) under
"System". An app's own index page (``/admin/<app>/``) keeps Django's list. The index is the start page
(``shopconnect.workspace.start``): per store, what is set up and what is missing, the headline numbers
and shortcuts. There is no public site, so "View site" is gone (``site_url = None``).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse

#: (heading, [(app_label, ModelName), ...]) in the order shown; anything not named goes under "System".
GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Audience", [("timeline", "Customer"), ("segments", "Segment"), ("segments", "SegmentMembership"),
                  ("signup", "SignupForm"), ("signup", "Submission"), ("signup", "StockRequest"),
                  ("campaigns", "Suppression")]),
    ("Messages", [("campaigns", "Campaign"), ("campaigns", "Flow"), ("campaigns", "EmailTemplate"),
                  ("campaigns", "Message"), ("campaigns", "Enrollment")]),
    ("Reports", [("predictions", "PredictionRun")]),
    ("Settings", [("timeline", "Store"), ("campaigns", "EmailProvider"), ("campaigns", "FrequencyCap"),
                  ("signup", "SignupSettings"), ("auth", "User"), ("auth", "Group")]),
    ("Privacy", [("privacy", "PrivacyRequest"), ("privacy", "StoreErasure"), ("privacy", "RetentionPolicy")]),
]
SYSTEM = "System"


class WorkspaceAdminSite(admin.AdminSite):
    site_header = "ShopConnect"
    site_title = "ShopConnect"
    index_title = "Start"
    site_url = None  # no public site to view: the header's "View site" link is not shown
    index_template = "admin/workspace/start.html"

    def get_app_list(self, request, app_label=None):
        if app_label is not None:  # an app's own index page: Django's list
            return super().get_app_list(request, app_label)
        apps = self._build_app_dict(request)
        found = {(label, m["object_name"]): m for label, app in apps.items() for m in app["models"]}
        index = reverse("admin:index", current_app=self.name)
        out = []
        for heading, members in GROUPS:
            models = [found.pop(key) for key in members if key in found]
            if heading == "Reports":
                models.insert(0, {"name": "Store dashboard", "object_name": "dashboard", "perms": {"view": True},
                                  "admin_url": reverse("reports:dashboard"), "add_url": None, "view_only": True})
            if models:
                out.append({"name": heading, "app_label": heading.lower(), "app_url": f"{index}#{heading.lower()}",
                            "has_module_perms": True, "models": models})
        rest = sorted(found.values(), key=lambda m: str(m["name"]).lower())
        if rest:
            out.append({"name": SYSTEM, "app_label": "system", "app_url": f"{index}#system",
                        "has_module_perms": True, "models": rest})
        return out

    def index(self, request, extra_context=None):
        from .start import start_context

        return super().index(request, {**start_context(request), **(extra_context or {})})

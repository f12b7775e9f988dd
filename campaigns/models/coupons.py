"""Unique discount codes: one per message that asked for one (``EmailTemplate.unique_code``).

A row is written before the platform is asked (state ``pending``), so a retried send finds its code and
asks the platform for the same one again; ``created`` once the platform has it. Redemption is filled
in when an order carrying the code arrives (``campaigns.coupons.mark_redeemed``).
"""

from __future__ import annotations

from django.db import models

from shopconnect.timeline.models import Customer, Store


class UniqueCode(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Not created on the platform yet"
        CREATED = "created", "Created on the platform"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="unique_codes")
    message = models.OneToOneField("campaigns.Message", on_delete=models.CASCADE, related_name="unique_code")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="unique_codes")
    code = models.CharField(max_length=64)
    discount_type = models.CharField(max_length=16)
    value = models.DecimalField(max_digits=10, decimal_places=2)
    minimum_order = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    once_per_customer = models.BooleanField(default=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    platform_id = models.CharField(max_length=255, blank=True, default="")
    note = models.CharField(max_length=300, blank=True, default="", help_text="The platform's last refusal.")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    order_ref = models.CharField(max_length=64, blank=True, default="")
    order_total = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="uniquecode_store_code_uniq")]
        indexes = [models.Index(fields=["store", "state"], name="uniquecode_store_state_idx")]

    def __str__(self) -> str:
        return self.code

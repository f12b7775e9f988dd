from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    name = "integrations.storefront"
    label = "storefront"
    verbose_name = "Storefront tracking"

from django.apps import AppConfig


class SignupConfig(AppConfig):
    name = "integrations.storefront.signup"
    label = "signup"
    verbose_name = "Signup forms"
    default_auto_field = "django.db.models.BigAutoField"

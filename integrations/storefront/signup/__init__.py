"""Signup forms and popups, the WooCommerce checkout opt-in and double opt-in (see ``service``)."""

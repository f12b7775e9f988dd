"""Storefront behaviour tracking: script, collect endpoint and its inbox (app label ``storefront``)."""

"""Storefront behaviour tracking: the script, the collect endpoint and its inbox (app label ``storefront``)."""

"""The marketer's workspace in the Django admin: the admin site (navigation grouped by task, the start page)."""

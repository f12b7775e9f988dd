"""WSGI entry point (``gunicorn shopconnect.wsgi``).

Platform webhooks (``/webhooks/``) skip the middleware stack: no session, user, CSRF token, message or
frame header applies to a platform posting signed JSON, and on the busiest endpoint the stack was a
noticeable share of each request's CPU. Every other path gets the whole stack.
"""

import os

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopconnect.settings")
django_application = get_wsgi_application()

BARE_PREFIXES = ("/webhooks/",)


class BareHandler(WSGIHandler):
    """Django's handler with no middleware: URL resolution, the view, exception handling, signals."""

    def load_middleware(self, is_async=False):
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        self._middleware_chain = convert_exception_to_response(self._get_response)


bare_application = BareHandler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(BARE_PREFIXES):
        return bare_application(environ, start_response)
    return django_application(environ, start_response)

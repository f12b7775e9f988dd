"""Small project-level tasks."""


def ping(value: str = "pong") -> str:
    """Used by ``check_worker`` to prove a real worker executes queued tasks."""
    return value

"""RQ job functions: thin wrappers that take ids, open an app context and call webapp.sync."""
from contextlib import contextmanager

from flask import current_app, has_app_context

_app = None


@contextmanager
def app_context():
    """The running app's context when there is one (tests, web), else the worker's own app from the env."""
    global _app
    if has_app_context():
        yield current_app._get_current_object()
        return
    if _app is None:
        from webapp import create_app

        _app = create_app()
    with _app.app_context():
        yield _app

"""RQ job functions: thin wrappers that take ids, open an app context and call webapp.sync."""
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


@contextmanager
def app_context() -> Iterator[Flask]:
    """The running app's context when there is one (tests, web), else the worker's own app from the env."""
    global _app
    if has_app_context():
        yield current_app  # the running app (through its proxy, valid for as long as its context is)
        return
    if _app is None:
        from webapp import create_app

        _app = create_app()
    with _app.app_context():
        yield _app

"""The one place that decides whether a request came from htmx, and renders accordingly."""
from flask import make_response, render_template, request


def is_htmx_request() -> bool:
    """True for an htmx request that wants a fragment (HX-Request set and not a boosted navigation)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"


def render_page_or_fragment(page: str, fragment: str, status: int = 200, **context):
    """Render the full page, or only its fragment for htmx; both vary on HX-Request."""
    template = fragment if is_htmx_request() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def render_fragment(fragment: str, status: int = 200, **context):
    """Render a fragment on its own (always a fragment, whoever asked)."""
    response = make_response(render_template(fragment, **context), status)
    response.vary.add("HX-Request")
    return response

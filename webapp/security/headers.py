"""Security headers on every response Socket sends: pages, htmx fragments, errors, redirects and static files.

A small `after_request` hook rather than Flask-Talisman: Talisman would also redirect every request to HTTPS and
rewrite the session cookie's flags, which breaks a plain-HTTP local run and duplicates what config.py already
sets, and the one value here that is not fixed (the Xero sign-in host that "Connect to Xero" posts through to,
see `form_action`) is read per request from the config either way. The whole policy is this one function, and
tests/test_security_headers.py walks every route to check it.

The Content-Security-Policy allows only Socket's own scripts and styles: no inline script, handler or style
(templates carry none, and htmx is told not to inject its indicator CSS: see the htmx-config meta in layout.html).
"""
from urllib.parse import urlsplit

from flask import Flask, Response, current_app

# Features Socket never uses; an empty allow-list switches each off for the page and anything it embeds.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "geolocation", "gyroscope", "magnetometer", "microphone", "payment", "usb"))
HSTS = "max-age=31536000; includeSubDomains"


def origin_of(url: str | None) -> str | None:
    """scheme://host[:port] of an absolute URL (None for anything else)."""
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def form_action() -> str:
    """Where a form may submit to: Socket, and Xero's sign-in host, because "Connect to Xero" is a POST that
    Socket answers with a redirect to Xero, and browsers apply form-action to that redirect too."""
    xero = origin_of(current_app.config.get("XERO_LOGIN_URL"))
    return "'self'" + (f" {xero}" if xero else "")


def content_security_policy() -> str:
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # Pico draws its select arrows and checkbox ticks as data: SVGs
        "font-src 'self'",
        "connect-src 'self'",
        f"form-action {form_action()}",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ))


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy()
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    # Only when Socket is served over HTTPS (the same setting that makes the session cookie HTTPS-only):
    # HSTS on a plain-HTTP local run would be ignored at best and stick to localhost at worst.
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = HSTS
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)

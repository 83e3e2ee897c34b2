"""The runtime object every blueprint shares (settings, SQLite store, clock, limits, faults) and its settings."""
from __future__ import annotations

import json
import os
import time
from typing import Any

from flask import current_app

from . import constants as C
from . import seed
from .limits import Faults, RateLimiter
from .store import AUTH_TABLES, DATA_TABLES, Store
from .tokens import SigningKey

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENV_SETTINGS = {
    "SANDBOX_DB_PATH": "instance/xero_sandbox.sqlite",
    "SANDBOX_CLIENT_ID": C.DEFAULT_CLIENT_ID,
    "SANDBOX_CLIENT_SECRET": C.DEFAULT_CLIENT_SECRET,
    "SANDBOX_REDIRECT_URIS": C.DEFAULT_REDIRECT_URI,
    "SANDBOX_APP_NAME": "Socket (sandbox app)",
    "SANDBOX_WEBHOOK_URL": "",
    "SANDBOX_WEBHOOK_KEY": "",
    "SANDBOX_ACCESS_TOKEN_TTL": str(C.ACCESS_TOKEN_TTL),
    "SANDBOX_LIMITS": "real",
    "SANDBOX_LATENCY_MS": "0",
    "SANDBOX_SCOPE_MODE": "any",
    "SANDBOX_PUBLIC_URL": "",
}


def load_settings(config: dict[str, Any] | None) -> dict[str, Any]:
    """The environment's SANDBOX_* settings (unless SANDBOX_IGNORE_ENV) overlaid with `config`, normalised."""
    config = dict(config or {})
    use_env = not config.pop("SANDBOX_IGNORE_ENV", False)
    settings: dict[str, Any] = {}
    for key, default in ENV_SETTINGS.items():
        settings[key] = os.environ.get(key, default) if use_env else default
    settings.update(config)
    path = settings["SANDBOX_DB_PATH"]
    if path != ":memory:" and not os.path.isabs(path):
        settings["SANDBOX_DB_PATH"] = os.path.join(PROJECT_ROOT, path)
    uris = settings["SANDBOX_REDIRECT_URIS"]
    if isinstance(uris, str):
        uris = [u.strip() for u in uris.split(",") if u.strip()]
    settings["SANDBOX_REDIRECT_URIS"] = list(uris)
    settings["SANDBOX_ACCESS_TOKEN_TTL"] = int(settings["SANDBOX_ACCESS_TOKEN_TTL"])
    settings["SANDBOX_LATENCY_MS"] = float(settings["SANDBOX_LATENCY_MS"] or 0)
    limits = settings["SANDBOX_LIMITS"]
    if isinstance(limits, str):
        if limits not in C.LIMITS:
            raise ValueError(f"SANDBOX_LIMITS must be one of {sorted(C.LIMITS)}, not {limits!r}")
        limits = C.LIMITS[limits]
    else:
        limits = {**C.LIMITS["real"], **limits}
    settings["limits"] = limits
    if settings["SANDBOX_SCOPE_MODE"] not in ("any", "granular", "broad"):
        raise ValueError("SANDBOX_SCOPE_MODE must be any, granular or broad")
    return settings


class Sandbox:
    """Shared state: settings, SQLite store, clock, limiter, faults, signing key."""

    def __init__(self, settings: dict[str, Any]):
        self.settings = settings
        self.clock = settings.get("clock") or time.time
        self.sleep = settings.get("sleep") or time.sleep
        self.store = Store(settings["SANDBOX_DB_PATH"])
        self.limiter = RateLimiter(settings["limits"])
        self.faults = Faults(settings.get("seed"))
        self.signing_key = SigningKey()
        self.unexpected_errors = 0  # sandbox bugs answered with a 500 (tests assert this stays 0)
        self.seed_app()
        if self.store.get_meta("seeded") is None:
            self.reset()

    def now(self) -> float:
        return float(self.clock())

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    @property
    def client_id(self) -> str:
        return self.settings["SANDBOX_CLIENT_ID"]

    def seed_app(self) -> None:
        """(Re-)register the one app from the settings."""
        s = self.settings
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO apps (client_id, client_secret, redirect_uris, name) VALUES (?,?,?,?)",
                       (s["SANDBOX_CLIENT_ID"], s["SANDBOX_CLIENT_SECRET"],
                        json.dumps(s["SANDBOX_REDIRECT_URIS"]), s["SANDBOX_APP_NAME"]))

    def reset(self, keep_connections: bool = False) -> None:
        """Back to the demo data; tokens and connections go too unless `keep_connections`."""
        tables = DATA_TABLES if keep_connections else DATA_TABLES + AUTH_TABLES
        with self.store.tx() as db:
            for t in tables:
                db.execute(f"DELETE FROM {t}")
            seed.seed_demo(db)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', 'true')")
        self.limiter.reset()
        self.faults.reset()


def get_sandbox() -> Sandbox:
    """The current app's Sandbox."""
    return current_app.extensions["xero_sandbox"]

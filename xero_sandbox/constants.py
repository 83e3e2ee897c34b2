"""Fixed identifiers of the sandbox's demo world, so tests and demos can refer to them."""

DEMO_TENANT_ID = "b4a6b0b2-2d4e-4f8a-9c1e-5d0e6f7a8b90"
DEMO_TENANT_NAME = "Demo Company (UK)"
SECOND_TENANT_ID = "c5b7c1c3-3e5f-4a9b-8d2f-6e1f7a8b9c01"
SECOND_TENANT_NAME = "Demo Practice Holdings Ltd"

# The one sandbox user (auto signed in on the consent page); sees every organisation.
SANDBOX_USER_ID = "d6c8d2d4-4f60-4bac-9e30-7f20a8b9cd12"
SANDBOX_USER_EMAIL = "demo.user@socket-sandbox.example"
SANDBOX_USER_GIVEN_NAME = "Demo"
SANDBOX_USER_FAMILY_NAME = "User"

DEFAULT_CLIENT_ID = "socket-dev-client"
DEFAULT_CLIENT_SECRET = "socket-dev-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:5000/settings/integrations/xero/callback"

# Branding themes of the demo organisation.
STANDARD_THEME_ID = "5d4dd402-c851-497e-aae1-9ff265c0d15a"
SOCKET_THEME_ID = "3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f"
SPECIAL_PROJECTS_THEME_ID = "a0f2c0de-7b8e-4c4d-8e9f-2b3c4d5e6f70"
SECOND_STANDARD_THEME_ID = "e7d6c5b4-a392-4817-b6c5-d4e3f2a1b0c9"

ACCESS_TOKEN_TTL = 1800
REFRESH_TOKEN_TTL = 60 * 24 * 3600
REFRESH_GRACE = 30 * 60
AUTH_CODE_TTL = 5 * 60
IDEMPOTENCY_TTL = 24 * 3600

LIMITS = {
    "real": {"minute": 60, "day": 5000, "concurrent": 5, "app_minute": 10000},
    "relaxed": {"minute": 1_000_000, "day": 10_000_000, "concurrent": 1000, "app_minute": 10_000_000},
}

"""Settings are documented, and the migrations build exactly the schema the models describe."""
import os
import re

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from webapp.config import Config
from webapp.extensions import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_environment_setting_is_documented_in_env_example_with_secrets_blank():
    with open(os.path.join(ROOT, "webapp", "config.py")) as handle:
        read_from_env = set(re.findall(r'(?:os\.environ\.get|_bool)\("([A-Z_]+)"', handle.read()))
    with open(os.path.join(ROOT, ".env.example")) as handle:
        documented = dict(line.strip().split("=", 1) for line in handle if re.match(r"^[A-Z_]+=", line))
    assert read_from_env, "no settings found"
    assert read_from_env <= set(documented), read_from_env - set(documented)
    for secret in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY", "XERO_CLIENT_SECRET", "XERO_WEBHOOK_KEY"):
        assert documented[secret] == "", f"{secret} must be blank in .env.example"


def test_config_defaults_point_at_real_xero():
    assert Config.XERO_LOGIN_URL == "https://login.xero.com"
    assert Config.XERO_IDENTITY_URL == "https://identity.xero.com"
    assert Config.XERO_API_URL == "https://api.xero.com"
    assert "accounting.invoices" in Config.XERO_SCOPES and "offline_access" in Config.XERO_SCOPES


def test_migrations_match_the_models(app_ctx):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == [], "models changed without a migration: run `flask db migrate`"

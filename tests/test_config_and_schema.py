"""Settings are documented, and the migrations build exactly the schema the models describe."""
import os
import re

import pytest
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


# SQLite's reflection cannot read expression indexes (PostgreSQL's compares them): skipped there, not a difference.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(app_ctx):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == [], "models changed without a migration: run `flask db migrate`"


def test_sqlite_connections_check_foreign_keys_as_postgresql_does(tmp_path):
    """Local runs use SQLite: a row naming a practice that does not exist is refused there too, also on the
    connection the migrations ran on (they turn checking off while they rebuild tables)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade
    from sqlalchemy.exc import IntegrityError

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'local.sqlite'}"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with pytest.raises(IntegrityError):
                connection.execute(sa.text("INSERT INTO clients (practice_id, name, code, status, created_at, "
                                           "updated_at) VALUES (999, 'C', 'C01', 'active', '2026-01-01 00:00:00', "
                                           "'2026-01-01 00:00:00')"))
        db.engine.dispose()

"""Flask extensions, created unbound and initialised in the app factory."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from webapp import sqlite_foreign_keys  # noqa: F401  (SQLite connections check foreign keys, as PostgreSQL does)

# Named constraints so Alembic migrations are stable on SQLite and PostgreSQL alike.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """SQLAlchemy 2.0's typed declarative base behind `db.Model` (models subclass webapp.models.base.Model).

    The metadata lives here, not in SQLAlchemy(metadata=...): with a 2.x base class Flask-SQLAlchemy
    takes the default metadata (and so the naming convention) from the base class.
    """

    metadata = MetaData(naming_convention=naming_convention)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()

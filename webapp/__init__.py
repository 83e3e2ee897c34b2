"""Socket's Flask application factory."""
import logging
import os

from flask import Flask

from webapp.config import Config
from webapp.extensions import csrf, db, login_manager, migrate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: dict | None = None) -> Flask:
    """Build the app from the environment, with `config` overriding it (tests)."""
    app = Flask(
        __name__,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
        instance_path=os.path.join(ROOT, "instance"),
    )
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY is not set: copy .env.example to .env or export it")

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from webapp import models  # noqa: F401  (register models with SQLAlchemy)
    from webapp.services.billing import plan_staleness

    plan_staleness.watch()  # changes to what a plan bills mark the stored Billing Plan stale
    from webapp.errors import register_error_handling, unauthorized

    # Before the blueprints: their <int:...> routes take the bounded id converter registered here.
    register_error_handling(app)
    login_manager.unauthorized_handler(unauthorized)
    from webapp.security import init_security

    init_security(app)  # headers on every response, session time limits, proxy headers if trusted
    from webapp.auth import bp as auth_bp
    from webapp.billing import bp as billing_bp
    from webapp.clients import bp as clients_bp
    from webapp.contacts import bp as contacts_bp
    from webapp.pricing import bp as pricing_bp
    from webapp.settings import bp as settings_bp
    from webapp.webhooks import bp as webhooks_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(clients_bp)
    app.register_blueprint(contacts_bp)
    app.register_blueprint(pricing_bp)
    app.register_blueprint(settings_bp)
    app.register_blueprint(billing_bp)
    app.register_blueprint(webhooks_bp)

    from webapp.cli import register_cli
    from webapp.template_helpers import register_template_helpers

    register_cli(app)
    register_template_helpers(app)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    from webapp.log_redaction import install_log_redaction

    install_log_redaction()  # no OAuth code/state from Xero's redirect in the dev server's request log
    return app

"""python -m xero_sandbox [serve] | reset | generate-org --contacts N --name NAME"""
from __future__ import annotations

import argparse
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xero_sandbox", description="Socket's local Xero sandbox")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve on 127.0.0.1 (default command)")
    serve.add_argument("--port", type=int, default=None, help="default: $SANDBOX_PORT or 5050")
    sub.add_parser("reset", help="put the SQLite state back to the demo data")
    gen = sub.add_parser("generate-org", help="add a large organisation (for benchmarks)")
    gen.add_argument("--contacts", type=int, required=True)
    gen.add_argument("--name", required=True)
    gen.add_argument("--tenant-id", default=None)
    args = parser.parse_args(argv)

    from . import create_app
    app = create_app()
    sandbox = app.extensions["xero_sandbox"]
    if args.command == "reset":
        sandbox.reset()
        print(f"reset {sandbox.settings['SANDBOX_DB_PATH']} to the demo data")
        return 0
    if args.command == "generate-org":
        from .seed import generate_org
        with sandbox.store.tx() as db:
            if db.execute("SELECT 1 FROM orgs WHERE name=?", (args.name,)).fetchone():
                print(f"an organisation named {args.name!r} already exists", file=sys.stderr)
                return 1
            tenant_id = generate_org(db, args.name, args.contacts, args.tenant_id)
        print(tenant_id)
        return 0
    port = getattr(args, "port", None) or int(os.environ.get("SANDBOX_PORT", "5050"))
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

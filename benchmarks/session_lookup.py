"""What checking a reviewer's session costs each request: the account lookup the app
always made, against the one statement that now also asks whether the session was ended
(registry/store/sessions.py), with many ended sessions on record. CPU seconds of this
process (time.process_time), so other work on the machine does not count.

    .venv/bin/python benchmarks/session_lookup.py [--ended 10000] [--lookups 20000]
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

from registry.services.accounts import create_user
from registry.store import schema
from registry.store import sessions as session_store
from registry.store.connection import connect
from registry.store.writers import transaction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ended", type=int, default=10_000, help="ended sessions on record")
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "intake.db"
        schema.create(path, "intake")
        db = connect(path)
        user_id = create_user(db, "alice", "a long enough password", "reviewer")
        with transaction(db):
            for n in range(args.ended):
                session_store.end_session(db, secrets.token_urlsafe(32), user_id, f"2026-{n}", "2099")
        live = secrets.token_urlsafe(32)

        def before() -> object:  # the lookup the app made before (store/submissions.user_by_id)
            return db.execute("SELECT id, name, role FROM users WHERE id = ?", [user_id]).fetchone()

        def after() -> object:
            return session_store.account_of_session(db, user_id, live)

        for name, lookup in (("account only (before)", before), ("account and ended session (now)", after)):
            start = time.process_time()
            for _ in range(args.lookups):
                lookup()
            cpu = time.process_time() - start
            print(f"{name}: {cpu / args.lookups * 1e6:.1f} µs CPU a request ({args.ended:,} ended sessions)")
        db.close()


if __name__ == "__main__":
    main()

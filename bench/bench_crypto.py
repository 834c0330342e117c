"""Field-encryption throughput and key-rotation rate on a generated table.

    python bench/bench_crypto.py [--rows 20000] [--database-url URL]

Use an empty database: the script creates its tables there.

Prints seal/open per second, blind indexes per second, and the rotation rate
(values re-encrypted per second, batches committed) on SQLite by default.
"""

from __future__ import annotations

import argparse
import base64
import secrets
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from app import create_app
from app.database import services
from app.migrate import bootstrap, upgrade
from models import keys
from models.accounts import User
from models.crypto import KeyPurpose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="veiviser-bench-"))
    url = args.database_url or f"sqlite:///{folder / 'bench.db'}"
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "DATABASE_URL": url,
            "ACTIVE_KEY_TTL_SECONDS": 60.0,
        }
    )
    svc = services(app)
    upgrade(svc.engine)
    keyring = svc.keyring
    with svc.session_factory() as session:
        bootstrap(session, keyring)
        session.commit()

        n = 20_000
        started = time.perf_counter()
        sealed = [
            keyring.seal(session, "JBSWY3DPEHPK3PXP", "users", "totp_secret", f"r{i}")
            for i in range(n)
        ]
        seal_rate = n / (time.perf_counter() - started)
        started = time.perf_counter()
        for i, value in enumerate(sealed):
            keyring.open(session, value, "users", "totp_secret", f"r{i}")
        open_rate = n / (time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(n):
            keyring.blind_index(session, "participants.national_id", f"{i:011d}")
        index_rate = n / (time.perf_counter() - started)

        rows = []
        for i in range(args.rows):
            ref = f"bench{i:08d}"
            rows.append(
                {
                    "ref": ref,
                    "email": f"user{i}@bench.example",
                    "display_name": "Bench User",
                    "password_hash": "x",
                    "is_active": True,
                    "version": 1,
                    "totp_secret_sealed": keyring.seal(
                        session, "JBSWY3DPEHPK3PXP", "users", "totp_secret", ref
                    ),
                }
            )
        session.execute(insert(User), rows)
        session.commit()

        plan = keys.start_or_resume(session, keyring)
        session.commit()
        started = time.perf_counter()
        done = keys.reencrypt(session, plan.retiring_key_ids, batch_size=1000)
        elapsed = time.perf_counter() - started
        retired = keys.retire_unused(session, plan.retiring_key_ids)
        session.commit()
        assert keyring.active_key_id(session, KeyPurpose.FIELD) == plan.active_key_id

    print(f"database            {svc.engine.dialect.name}")
    print(f"seal                {seal_rate:>10,.0f} values/s")
    print(f"open                {open_rate:>10,.0f} values/s")
    print(f"blind index         {index_rate:>10,.0f} values/s")
    print(
        f"rotation            {done / elapsed:>10,.0f} values/s  "
        f"({done:,} values in {elapsed:.1f} s, retired {retired})"
    )
    svc.engine.dispose()


if __name__ == "__main__":
    main()

"""Time an export job (participant list with personal data) on a freshly seeded database.

    python bench/bench_exports.py [--participants 10000] [--format xlsx]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/h_exports]

Seeds one unit of N participants with `veiviser seed` into a SQLite file in a temporary
folder (or into the given, empty PostgreSQL database), then, in this process, requests
the export as the unit's leader and runs `models.exports.run_export` as the background
thread would, and reports the seconds, rows per second, the file size and when each
progress step became visible in the database.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))


def _veiviser() -> str:
    return str(Path(sys.executable).with_name("veiviser"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from models.crypto import write_master_key_file

    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        (instance / "config.py").write_text(
            textwrap.dedent(
                f'''\
                SECRET_KEY = "{secrets.token_urlsafe(32)}"
                DEPLOYMENT_ID = "bench-{secrets.token_hex(4)}"
                '''
            ),
            encoding="utf-8",
        )
        write_master_key_file(instance / "master.key")
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {**os.environ, "VEIVISER_INSTANCE_PATH": str(instance), "VEIVISER_DATABASE_URL": url}
        for key in ("VEIVISER_SECRET_KEY", "VEIVISER_MASTER_KEY", "VEIVISER_MASTER_KEY_FILE"):
            env.pop(key, None)
        subprocess.run(  # noqa: S603 - fixed arguments
            [_veiviser(), "db", "upgrade"], env=env, check=True, capture_output=True
        )
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - fixed arguments
            [_veiviser(), "seed", "--participants", str(args.participants), "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        seed_seconds = time.perf_counter() - started
        os.environ.update({k: v for k, v in env.items() if k.startswith("VEIVISER_")})
        result = run(args.format, seed_seconds)
        print(json.dumps(result, indent=2))


def run(fmt: str, seed_seconds: float) -> dict[str, object]:
    from sqlalchemy import select

    from app import create_app
    from app.database import services
    from models import exports as ops
    from models.accounts import Membership, Role, Unit, User
    from models.exports import ExportFormat, ExportJob, ExportKind
    from models.policy import Actor

    app = create_app()
    factory = services(app).session_factory
    with factory() as session:
        membership = session.scalars(
            select(Membership).where(Membership.role == Role.LEADER).order_by(Membership.id)
        ).first()
        assert membership is not None
        leader = session.get_one(User, membership.user_id)
        unit = session.get_one(Unit, membership.unit_id)
        job = ops.request_export(
            session,
            Actor(leader),
            unit,
            ExportKind.PARTICIPANT_LIST,
            ExportFormat(fmt),
            "Benchmark of the export machinery",
        )
        session.commit()
        job_id = job.id

    # Watch the progress from another session, as a status page in another process would.
    steps: list[tuple[float, int]] = []
    flush = ops._Progress.flush

    def watched(self: ops._Progress) -> None:
        flush(self)
        with factory() as other:
            seen = other.get_one(ExportJob, self.job_id).rows_done
        steps.append((round(time.perf_counter() - begun, 2), seen))

    ops._Progress.flush = watched  # type: ignore[method-assign]
    begun, cpu_begun = time.perf_counter(), time.process_time()
    status = ops.run_export(factory, job_id)
    seconds, cpu_seconds = time.perf_counter() - begun, time.process_time() - cpu_begun
    with factory() as session:
        job = session.get_one(ExportJob, job_id)
        size = len(job.file_b64 or "") * 3 // 4
        rows = job.rows_done
    return {
        "database": app.config["DATABASE_URL"].split(":", 1)[0],
        "format": fmt,
        "status": str(status),
        "rows": rows,
        "seed_seconds": round(seed_seconds, 1),
        "export_seconds": round(seconds, 2),
        # The machine is shared: CPU time shows what the export costs without the queueing.
        "export_cpu_seconds": round(cpu_seconds, 2),
        "rows_per_second": round(rows / seconds),
        "file_bytes": size,
        "progress_steps": len(steps),
        "first_steps": steps[:3],
        "last_step": steps[-1] if steps else None,
    }


if __name__ == "__main__":
    main()

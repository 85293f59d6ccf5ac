"""Writes the local secret store (.data/secrets.json) the first time, and adds any
secret a newer checkout needs to an existing one, leaving existing values alone.

    python3 tools/make_secrets.py FILE POSTGRES_PORT [POSTGRES_HOST]

Run by tools/infra.sh (host 127.0.0.1, the default); docker-compose.yml needs its own file
whose connection string names the postgres container (docs/compose.md). Stdlib only, plus
the openssl command for the Ed25519 key."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path


def ed25519_private_key_pem() -> str:
    return subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519"],  # noqa: S607 (openssl from PATH)
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main(path: Path, postgres_port: str, postgres_host: str = "127.0.0.1") -> None:
    values = json.loads(path.read_text()) if path.exists() else {}
    pg_password = values.get("postgres-password") or secrets.token_hex(24)
    wanted = {
        "redis-password": lambda: secrets.token_hex(24),
        "postgres-password": lambda: pg_password,
        "postgres-connection-string": lambda: (
            f"host={postgres_host} port={postgres_port} user=shop password={pg_password} "
            "dbname=shop sslmode=disable"
        ),
        "catalog-admin-token": lambda: secrets.token_hex(24),
        "identity-jwt-signing-key": ed25519_private_key_pem,
        "payments-webhook-secret": lambda: secrets.token_hex(32),
        # For `make run`, where every app and sidecar share one pair (see tools/run.sh).
        "dapr-api-token": lambda: secrets.token_hex(24),
        "app-api-token": lambda: secrets.token_hex(24),
    }
    added = [name for name in wanted if name not in values]
    if not added:
        return
    for name in added:
        values[name] = wanted[name]()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(values, indent=2))
    os.chmod(temporary, 0o600)
    temporary.replace(path)
    print(f"==> secrets added to {path}: {', '.join(added)}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), *sys.argv[2:4])

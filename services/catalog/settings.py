from pathlib import Path

from shop_dapr import SidecarSettings

SEED_FILE = Path(__file__).with_name("seed.json")


class Settings(SidecarSettings):
    # Name of the secret holding the bearer token that guards catalog writes.
    admin_token_secret: str = "catalog-admin-token"  # noqa: S105 (a name, not a value)
    # Products loaded at start-up when missing (None: no seeding).
    seed_file: Path | None = SEED_FILE

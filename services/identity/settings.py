import argon2
from pydantic import Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    # Argon2id cost (defaults: RFC 9106's low-memory profile). Raising them rehashes each
    # stored password at its owner's next login.
    password_time_cost: int = Field(default=argon2.DEFAULT_TIME_COST, ge=1)
    password_memory_kib: int = Field(default=argon2.DEFAULT_MEMORY_COST, ge=8)
    password_parallelism: int = Field(default=argon2.DEFAULT_PARALLELISM, ge=1)
    # Each hash holds `password_memory_kib` for its duration: this bounds how many run at
    # once, and so the memory a burst of logins can take.
    password_hash_concurrency: int = Field(default=4, ge=1)

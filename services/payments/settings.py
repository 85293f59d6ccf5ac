from pydantic import Field
from shop_dapr import SidecarSettings


class Settings(SidecarSettings):
    # Name of the secret holding the key that signs the provider's webhook callbacks.
    webhook_secret_name: str = "payments-webhook-secret"  # noqa: S105 (a name, not a value)
    # Knobs of the simulated provider, for fault-injection and latency tests.
    provider_latency_ms: int = Field(default=0, ge=0, le=60_000)
    provider_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Fixes the simulated outages' sequence so a fault-injection run can be repeated.
    provider_seed: int | None = None
    # How long the simulated provider takes to confirm a charge of the card that awaits
    # confirmation (4000000000003220), by its webhook.
    provider_confirm_delay_ms: int = Field(default=1500, ge=0, le=3_600_000)

"""Event and API contracts shared between services: one module per owning service."""

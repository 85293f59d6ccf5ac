"""Identity's public contract: the JWTs it issues and where its public keys are."""

JWT_ISSUER = "shop-identity"
JWT_AUDIENCE = "shop"
JWT_ALGORITHM = "EdDSA"
JWKS_PATH = "/.well-known/jwks.json"
# Secret-store names: the Ed25519 private key (PEM) that signs tokens.
JWT_SIGNING_KEY_SECRET = "identity-jwt-signing-key"  # noqa: S105 (a name, not a value)

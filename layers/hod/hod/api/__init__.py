"""Request/response models of the HTTP API and its OpenAPI description."""

"""The service: REST API and web review console over the same governance modules the CLI uses."""

from hygeia.server.app import create_app

__all__ = ["create_app"]

"""Prometheus exporter for the ghost patch-delivery system."""

from ghost_common import __version__

__all__ = ["__version__"]

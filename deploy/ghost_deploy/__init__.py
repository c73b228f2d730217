"""Kubernetes manifests of ghost-exporter, generated from the project's own files."""

from __future__ import annotations

from .render import drift, rendered, write

__all__ = ["drift", "rendered", "write"]

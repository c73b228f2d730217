"""Stress daemon that executes patches under load and serves the patch status protocol."""

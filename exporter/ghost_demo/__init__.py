"""The demo ghost services, with fault injection."""

"""The Prometheus recording and alert rules of ghost-exporter, built from alerts/config.yml."""

"""What every ghost program shares, written once."""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The version of the distribution that ships every program.
    __version__ = version("ghost-exporter")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]

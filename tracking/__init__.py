"""track-evidence: logistics tracking evidence for marketplace appeals."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("track-evidence")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]

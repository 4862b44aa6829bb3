"""track-evidence: logistics tracking evidence for marketplace appeals.

Sub-packages by role (README "Architecture"): `core` (types, settings, numbers), `ingest`
(orders files in), `store` (the only SQL), `fetch` (the pull pipeline), `judge` (milestones,
findings, policies, verdicts), `read` (what people see), `evidence` (the bundle), `sandbox`,
and the entry points `workers`, `cli`, `api`. Carrier adapters live in the `carriers` package.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("track-evidence")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]

"""Version strings: sops-py's own, and the sops format version it writes into metadata."""

__version__ = "0.1.0"
# The sops release whose file format sops-py writes (metadata layout, JSON number typing).
SOPS_FORMAT_VERSION = "3.13.2"

"""The sops-compatible command line (click). ``main`` is the single error boundary."""

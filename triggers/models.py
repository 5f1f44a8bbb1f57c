"""triggers models (see the issue that builds them)."""

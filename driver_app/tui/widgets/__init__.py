"""Reusable widgets of the driver's TUI (each brings its own DEFAULT_CSS)."""

"""Headless route runner for QA: the same workflow core as the TUI, driven by a script."""

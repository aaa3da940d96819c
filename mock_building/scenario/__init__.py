"""Scenarios: the typed model of a building, its TOML loader, seeded keys and rendered labels."""

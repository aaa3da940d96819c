"""Scenarios: the pydantic models of a building's day, their TOML loader, seeded keys and rendered labels."""

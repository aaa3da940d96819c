"""Adapters: the core's ports implemented with httpx, bleak, keyring, SQLite and the system clock."""

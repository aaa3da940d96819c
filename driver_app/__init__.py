"""The LobbyKey driver app: a UI-independent workflow core, its adapters and the Textual TUI."""

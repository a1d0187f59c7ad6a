"""The illustrative catalogue shipped with the service (see its ``illustrative`` flag)."""

"""diagnose layer (see DESIGN.md)."""

"""probe layer (see DESIGN.md)."""

"""net layer (see DESIGN.md)."""

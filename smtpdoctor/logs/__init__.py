"""logs layer (see DESIGN.md)."""

"""mta layer (see DESIGN.md)."""

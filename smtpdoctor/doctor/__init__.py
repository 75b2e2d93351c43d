"""doctor: every local check at once, ranked into one report (see DESIGN.md)."""

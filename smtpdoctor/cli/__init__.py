"""Command line: argument parsing and exit codes only."""

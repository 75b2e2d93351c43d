"""Tests of the sans-IO SMTP protocol layer."""

"""smtpdoctor: finds out why SMTP mail times out, and says what to change."""

__version__ = "0.1.0"

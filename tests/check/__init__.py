"""Every cause of `smtpdoctor check`, proved against a real server through the CLI."""

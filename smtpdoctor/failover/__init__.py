"""`smtpdoctor failover`: active relay health checks, a breaker per relay, MTA steering."""

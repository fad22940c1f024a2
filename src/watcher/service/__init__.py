"""The long-running service: scheduler, delivery and web, until SIGTERM."""

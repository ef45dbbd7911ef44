"""Business logic: functions that take a session and plain values, and know nothing of HTTP or GraphQL."""

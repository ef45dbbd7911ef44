"""AudioCity."""

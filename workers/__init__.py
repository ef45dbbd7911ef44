"""Dramatiq actors. Importing `workers.actors` after `setup_broker` declares them on the broker."""

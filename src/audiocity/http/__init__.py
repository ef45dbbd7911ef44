"""Plain HTTP routes beside GraphQL: files, resumable uploads, bundles, the Stripe webhook, health, metrics.

Each route takes what it needs from the application container (`container.resources`); `app.py`
only assembles them.
"""

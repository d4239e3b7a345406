"""Code every campaign service needs once: auth, errors, settings, observability,
idempotency, DynamoDB helpers, the order-event model and the route layer.

It never imports a service. Submodules are imported lazily by their users so a
Lambda cold start pays only for what it touches.
"""

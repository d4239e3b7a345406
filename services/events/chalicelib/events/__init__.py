"""The order-event producer: accepts storefront order events and publishes them."""

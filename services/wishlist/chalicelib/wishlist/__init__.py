"""The wishlist service's own code: domain (pure), store (DynamoDB), models."""

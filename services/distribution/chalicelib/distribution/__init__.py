"""The distribution service's own code: domain (pure), store (DynamoDB), models."""

"""The coupons service's own code: domain (pure), store (DynamoDB), models."""

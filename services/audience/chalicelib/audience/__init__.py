"""The audience service: customer profiles, tags, segments and repurchase reports."""

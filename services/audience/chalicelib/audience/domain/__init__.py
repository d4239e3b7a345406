"""Pure rules of the audience service: no I/O, no boto3, no store, no messaging."""

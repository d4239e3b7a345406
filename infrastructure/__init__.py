"""Infrastructure: provisioning from the one resource definition, the local stack, the CLI."""

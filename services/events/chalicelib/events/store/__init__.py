"""The events table: ``keys``, ``records``, ``ports`` and the one repository, ``events``."""

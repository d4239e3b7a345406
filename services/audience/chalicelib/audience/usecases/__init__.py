"""Use cases of the audience service, one module per area; repositories are injected
(``Stores``) so unit tests run them on the fakes of ``tests/unit/audience/fakes.py``."""

"""The distribution table: ``keys`` (every key), ``records`` (typed records and the stored
field renames), ``ports`` (a Protocol per repository) and one repository per aggregate
(``shops``, ``distributors``, ``ledger``, ``withdrawals``, ``links``,
``orders``). The only code that talks to DynamoDB.

No multi-item transactions: moto copies whole tables per transaction, and the ledger grows.
Atomicity comes from single-item conditional writes (see ``usecases.posting``).
"""

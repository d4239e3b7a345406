"""The storage kit: everything a service's ``store/`` package needs from DynamoDB, written once.

- ``keys``: key parts escaped (``%`` and ``#``) and joined, so no id can forge another's key;
- ``codec``: plain Python <-> AttributeValue maps (ints stay ints);
- ``failures``: what a ``ClientError`` means (conditional failure, retryable, the API error);
- ``retry``: one backoff, ``with_retries`` for transient failures and ``attempts`` for
  optimistic read-modify-write loops (503 when they run out);
- ``writes``: create-unless-exists and conditional update that recognise the caller's own
  earlier write (a retried call whose first answer was lost), and transactions with a
  ``ClientRequestToken``;
- ``reads``: one item by its key (a consistent read), as a plain dict;
- ``paging``: page parameters, opaque cursors bound to route and caller, one page of a query,
  every page of a query, and batched reads and writes.

Services import the modules (``from campaign_shared.storage import keys, writes``); nothing
here knows any service.
"""

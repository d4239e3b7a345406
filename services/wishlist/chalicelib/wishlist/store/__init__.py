"""The wishlist table: the only package that touches DynamoDB.

``keys`` (every key), ``records`` (typed records and their stored form), ``ports`` (a
Protocol per repository) and one repository per aggregate: ``lists``, ``items``, ``shares``
and ``orders``. A list and its items share a partition, so an owner's view and a friend's
view are one Query. Creating and deleting lists, items and share links are
TransactWriteItems (counter + record): not a hot path. What changes an item's quantities
(reservations, order events) is a single-item conditional write.
"""

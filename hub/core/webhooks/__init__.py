"""Outgoing webhooks: endpoints and fan-out (``endpoints``), the delivery rows and their
queue (``models``, ``schemas``, ``queue``, ``lanes``, ``lease``), the pump that sends them
(``pump``, ``delivery``, ``record``), replays, endpoint secrets' rotation (``keys``), and
the webhook failure policy (``policy``). docs/webhooks.md is the user's side.
"""

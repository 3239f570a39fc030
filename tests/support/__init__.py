"""Helpers the core's tests share: loopback servers that stand in for a provider or a webhook
receiver, small test plugins, and API shortcuts. Test modules import them as
``from support.<module> import ...`` (``tests/`` is on pytest's ``pythonpath``)."""

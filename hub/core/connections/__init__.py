"""Connections: an organization's integration of a plugin (``integrations``,
``integration_rows``), connecting it (``connect``, ``oauth``, ``oauth_browser``), its
tokens (``tokens``), the PluginContext the core builds for it (``context``), calls to the
provider (``http``) and their usage records (``usage``), and keeping it healthy (``upkeep``,
``health``, ``checks``).
"""

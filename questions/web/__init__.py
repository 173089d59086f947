"""Adapters: the JSON API and its route table, the OpenAPI document, HTML pages and Socket.IO
events, each a thin layer over the ``game`` use cases."""

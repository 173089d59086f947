"""The use-case machinery every layer stands on: declaring use cases and who may call them,
the context they get, errors, events, shared schema pieces and the database tables. Imports
nothing from ``game`` or ``web``."""

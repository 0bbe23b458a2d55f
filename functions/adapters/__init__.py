"""Adapters between the pure core and Google Cloud: clients, settings, codecs, error mapping."""

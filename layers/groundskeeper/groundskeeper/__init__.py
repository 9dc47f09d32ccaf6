"""Groundskeeper's shared layer: AWS clients, settings, errors, observability and the notify adapter."""

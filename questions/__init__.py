"""Callit: a live prediction game for meetups."""
from .factory import create_app

__all__ = ["create_app"]

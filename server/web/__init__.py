"""The web stage: app factory, per-app state, negotiation, one blueprint package per family."""

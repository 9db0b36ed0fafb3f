"""The intake app's blueprints, one per area."""

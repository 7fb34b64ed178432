"""The thin HTTP layer: one module per endpoint or page group; parse → call the core → render."""

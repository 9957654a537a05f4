"""Framework adapters: one module per framework, each importing only its own framework."""

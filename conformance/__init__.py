"""conformance: does the dense layer (x @ W.T + b) and its sigmoid agree across frameworks?"""

__version__ = "0.1.0"

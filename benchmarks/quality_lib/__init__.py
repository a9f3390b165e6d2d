"""Building, running and scoring the quality benchmark (`benchmarks/quality.py`)."""

"""Reference Glancy service: the dictionary service the local drills break and measure.

Run it with ``python -m reference --config path.json``.
"""

"""The Kitaru benchmark suite: ``python -m bench`` (or ``make bench``)."""

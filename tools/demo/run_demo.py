"""`make demo`: not yet available (see the demo issue)."""
print('make demo: not yet available (the demo issue has not landed yet).')

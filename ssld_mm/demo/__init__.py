"""Helpers of ``make demo`` (tools/demo/) and the distillation speed benchmark.

Not imported by ``ssld_mm`` itself: ``import ssld_mm.demo.data`` etc.
"""

"""Helpers shared by tests, benchmarks and demos (no test framework needed)."""
from .coco_toy import (FASHION_MNIST_CLASSES, find_fashion_mnist,
                       make_coco_toy)

__all__ = ['FASHION_MNIST_CLASSES', 'find_fashion_mnist', 'make_coco_toy']

"""Helpers shared by tests, benchmarks and demos (no test framework needed)."""
from .coco_toy import FASHION_MNIST_CLASSES, find_fashion_mnist, make_coco_toy
from .det_toy_config import coco_toy_overrides, write_coco_toy_config

__all__ = [
    'FASHION_MNIST_CLASSES', 'find_fashion_mnist', 'make_coco_toy',
    'coco_toy_overrides', 'write_coco_toy_config'
]

from .ssld_runner import SSLDRunner

__all__ = ['SSLDRunner']

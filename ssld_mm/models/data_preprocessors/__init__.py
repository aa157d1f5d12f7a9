from .ssld_data_preprocessor import SSLDDataPreprocessor

__all__ = ['SSLDDataPreprocessor']

"""The course kit's data: where it is found, how it is verified, how homeworks load it.

See :mod:`data.store` for the search order (``AEKIT_DATA``, the kit's cache, ``../shared/data``,
then a verified download) and :mod:`data.mnist` for MNIST.
"""
from .store import DataError, cache_dir, fetch, search_dirs

__all__ = ["DataError", "cache_dir", "fetch", "search_dirs"]

from .image_list import (ImageListEntry, ImageListError, format_entry,
                         iter_image_list, read_image_list, resolve_image_path)

__all__ = [
    'ImageListEntry', 'ImageListError', 'iter_image_list', 'read_image_list',
    'resolve_image_path', 'format_entry'
]

"""Reading image lists: PaddleClas format and MMPretrain's annotation format.

Both formats are one sample per line, ``<relative path>[ <label>]``:

* PaddleClas: ``train/n01440764/x.JPEG 0`` (labeled) or ``unlabeled/x.jpg``;
* MMPretrain ``CustomDataset`` ann files: ``folder/x.jpg 0``.

Paths with spaces are supported when a label follows (the label is the last
space-separated field and must be an integer). Blank lines and lines starting
with ``#`` are skipped.
"""
import os.path as osp
from typing import Iterator, List, NamedTuple, Optional


class ImageListEntry(NamedTuple):
    """One line of an image list.

    Attributes:
        path (str): Image path as written in the list (relative or absolute).
        label (int | None): Class index, or ``None`` for an unlabeled image.
        line_no (int): 1-based line number in the list file.
    """
    path: str
    label: Optional[int]
    line_no: int


class ImageListError(ValueError):
    """A malformed line or a missing image; the message names list, line and path."""


def _split_line(line: str, list_file: str, line_no: int,
                allow_unlabeled: bool) -> ImageListEntry:
    parts = line.rsplit(maxsplit=1)
    if len(parts) == 2:
        try:
            return ImageListEntry(parts[0], int(parts[1]), line_no)
        except ValueError:
            pass  # a path with a space and no label: handled below
    if not allow_unlabeled:
        raise ImageListError(
            f'{list_file}:{line_no}: expected "<path> <integer label>", '
            f'got {line!r}')
    return ImageListEntry(line, None, line_no)


def iter_image_list(list_file: str,
                    allow_unlabeled: bool = True) -> Iterator[ImageListEntry]:
    """Yield the entries of ``list_file`` lazily (for pools of millions).

    Args:
        list_file (str): Path of the list.
        allow_unlabeled (bool): Accept lines without a label. Defaults to True.

    Raises:
        FileNotFoundError: If ``list_file`` does not exist.
        ImageListError: If a label is negative, or a line lacks a label while
            ``allow_unlabeled`` is False.
    """
    if not osp.isfile(list_file):
        raise FileNotFoundError(f'image list {list_file!r} does not exist')
    with open(list_file, encoding='utf-8') as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            entry = _split_line(line, list_file, line_no, allow_unlabeled)
            if entry.label is not None and entry.label < 0:
                raise ImageListError(f'{list_file}:{line_no}: label must be >= 0, got '
                                     f'{entry.label} for {entry.path!r}')
            yield entry


def read_image_list(list_file: str,
                    allow_unlabeled: bool = True) -> List[ImageListEntry]:
    """Read a whole image list (see :func:`iter_image_list`)."""
    return list(iter_image_list(list_file, allow_unlabeled))


def resolve_image_path(path: str, data_prefix: str = '') -> str:
    """Join a list path with the data prefix (absolute paths are kept)."""
    if osp.isabs(path) or not data_prefix:
        return path
    return osp.join(data_prefix, path)


def format_entry(path: str, label: Optional[int]) -> str:
    """One line of a PaddleClas list (no trailing newline)."""
    return path if label is None else f'{path} {int(label)}'

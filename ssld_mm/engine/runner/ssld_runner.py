"""MMEngine's Runner with a short console log and ssld_mm's checkpoint I/O."""
import logging
from typing import Any, Optional

from mmengine.runner import Runner

from ssld_mm.registry import RUNNERS
from ssld_mm.utils.setup_env import setup_runtime

#: Start of the long records that go to the log file only (MMEngine's
#: environment dump, config dump and hook table).
FILE_ONLY_PREFIXES = ('\n' + '-' * 60 + '\nSystem environment:', 'Config:\n',
                      'Hooks will be executed in the following order')


class FileOnlyFilter(logging.Filter):
    """Drops the environment / config / hook-table records from a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(FILE_ONLY_PREFIXES)


@RUNNERS.register_module()
class SSLDRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` whose console stays short.

    MMEngine logs the system environment, the whole config and the hook table
    (260-370 lines for an SSLD config) before anything else, so the one line
    that matters when a run fails scrolls away. This runner writes those
    records to the log file only and prints one line saying where they are.
    Building it calls :func:`ssld_mm.utils.setup_runtime` first, so a run
    built from user code (``Runner.from_cfg``, ``RUNNERS.build`` with
    ``runner_type = 'ssld_mm.SSLDRunner'``) loads checkpoints safely, saves
    them atomically and resumes from the newest complete one, as the tools do.
    Everything else is MMEngine's Runner unchanged. ``tools/train.py`` and
    ``tools/test.py`` use it unless the config sets ``runner_type``.

    Config keys read besides the Runner's own:

    - ``log_config_to_console`` (bool): print the dumps on the console too
      (what ``--verbose`` of the tools sets). Defaults to False.

    Example:
        >>> runner_type = 'SSLDRunner'
        >>> log_config_to_console = False
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        setup_runtime()  # before the Runner resolves resume / load_from
        super().__init__(*args, **kwargs)

    def _log_env(self, env_cfg: dict) -> None:
        if self.cfg.get('log_config_to_console', False):
            super()._log_env(env_cfg)
            return
        consoles = [
            h for h in self.logger.handlers if isinstance(h, logging.StreamHandler)
            and not isinstance(h, logging.FileHandler)
        ]
        for handler in consoles:
            if not any(isinstance(f, FileOnlyFilter) for f in handler.filters):
                handler.addFilter(FileOnlyFilter())
        super()._log_env(env_cfg)
        log_file = self.log_file_path()
        where = f'written to {log_file}' if log_file else 'not printed'
        self.logger.info(f'Environment, config and hook order: {where} '
                         '(--verbose prints them here)')

    def log_file_path(self) -> Optional[str]:
        """Path of this process's log file, None if it has none."""
        for handler in self.logger.handlers:
            if isinstance(handler, logging.FileHandler):
                return handler.baseFilename
        return None

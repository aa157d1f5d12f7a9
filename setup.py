"""Install ssld_mm (the PaddleClas SSLD recipe for the OpenMMLab stack).

The pinned torch/mmcv stack is installed by ``make setup`` (tools/setup_env.sh),
not by this file: torch and mmcv need special handling (see README).
"""
import os.path as osp
from setuptools import find_packages, setup


def readme() -> str:
    with open(osp.join(osp.dirname(__file__), 'README.md'), encoding='utf-8') as f:
        return f.read()


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'ssld_mm', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), scope)
    return scope['__version__']


def parse_requirements(fname: str) -> list:
    path = osp.join(osp.dirname(__file__), 'requirements', fname)
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


setup(
    name='ssld_mm',
    version=get_version(),
    description='PaddleClas SSLD knowledge distillation for MMPretrain/MMDetection',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests')),
    # configs/ travel inside the package (ssld_mm/.mim/configs is a symlink
    # to ../../configs in a checkout), so `_base_ = ['ssld_mm::ssld/x.py']`
    # resolves from a wheel as `mmdet::` does (ssld_mm/utils/config_scope.py)
    package_data={'ssld_mm': ['.mim/model-index.yml', '.mim/configs/**/*.py']},
    python_requires='>=3.8',
    install_requires=parse_requirements('runtime.txt') +
    parse_requirements('mminstall.txt'),
    extras_require=dict(
        tests=parse_requirements('tests.txt'),
        demo=parse_requirements('demo.txt'),
        optional=parse_requirements('optional.txt')),
    zip_safe=False,
)

"""
Packaging.  Metadata lives in pyproject.toml; this file says what setuptools
cannot find by itself: the twistd plugin package, which must have no
__init__.py, and the browser client in static/, shipped inside the package
as whitebrd/static so that an installed daemon serves it.
"""

from setuptools import setup

setup(
    packages=["whitebrd", "whitebrd.stores", "whitebrd.static", "twisted.plugins"],
    package_dir={"whitebrd.static": "static"},
    package_data={"whitebrd.static": ["*", "**/*"], "twisted.plugins": ["whitebrd_plugin.py"]},
    include_package_data=False,
)

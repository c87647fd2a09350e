"""labgrade: grade NumPy neural-network labs, run untrusted submissions safely, explain bugs.

The pipeline is discover -> load -> probe -> check -> score -> render; see the README.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labgrade")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

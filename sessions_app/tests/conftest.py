from .fixtures import *  # noqa: F401,F403
from .fixtures import pytest_collection_modifyitems  # noqa: F401

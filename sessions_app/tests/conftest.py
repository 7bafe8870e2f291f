from .fixtures import *  # noqa: F401,F403
from .fixtures import pytest_collection_modifyitems  # noqa: F401
# `import *` skips underscore names, so the autouse cache reset must be imported by name.
from .fixtures import _fresh_cache  # noqa: F401

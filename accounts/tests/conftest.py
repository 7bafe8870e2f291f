from sessions_app.tests.fixtures import *  # noqa: F401,F403
from sessions_app.tests.fixtures import pytest_collection_modifyitems  # noqa: F401

"""Makes the helper modules beside these tests (the chat-completions server, the sample notes) importable:
tests/ is no package and pytest imports test files in importlib mode."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

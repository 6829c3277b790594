"""Launch the chat in the browser on the bundled articles: ``python app.py [--host H] [--port P]``.

Thin on purpose: everything lives in the ``rag`` package (``rag serve`` does the same).
"""

from __future__ import annotations

import sys

from rag.app.cli import app

if __name__ == "__main__":
    sys.exit(app(["serve", *sys.argv[1:]]))

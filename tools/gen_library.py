"""Generate the bundled case library: ``conformance.library`` (see its docstring).

.venv/bin/python tools/gen_library.py            # (re)write the files, then fill expected
.venv/bin/python tools/gen_library.py --no-fill  # only the YAML
"""

import sys

from conformance.library import main

if __name__ == "__main__":
    sys.exit(main())

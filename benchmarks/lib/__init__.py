"""What the benchmark scripts share: seeding a database, measuring processes, and throwaway
PostgreSQL, SeaweedFS and `strongbox serve` servers. Run the scripts from the repository, as
`python benchmarks/NAME.py`; importing this package puts the test suite's fixtures on the path.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The throwaway-server classes of the test suite are plain classes; reuse them rather than
# maintain a second way of starting PostgreSQL and SeaweedFS.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

"""Access-matrix rows for views/nir.py.

The national-register page and the marking are for the leader of the unit only; every
other role is refused outright (403). The matrix's leader leads the unit it reads, and
the empty mark form marks up to today, then redirects.
"""

from __future__ import annotations

from tests.access_rules.common import Rules, record

NIR_RULES: Rules = {
    "nir.index": ("GET", record({"leader": 200})),
    "nir.mark": ("POST", record({"leader": 302})),
}

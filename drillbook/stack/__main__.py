"""`python -m drillbook.stack`: the embedded stack run detached, as a staging stands in
(drillbook.detached). Its runbook commands run once per fault, so they import only what they
use."""

import sys

from drillbook.detached.cli import main

sys.exit(main())

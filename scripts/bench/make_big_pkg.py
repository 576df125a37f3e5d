#!/usr/bin/env python3
"""Write a vendor-like distribution package of about SIZE MiB for scripts/bench.sh.

Reuses the fixture builder in tests/fixtures/pkg/make_fixtures.py (standard library only) and
replaces the component's Payload with SIZE MiB of random bytes stored raw, as Apple's tools
store Payload. Usage: make_big_pkg.py OUT.pkg SIZE_MIB
"""
import importlib.util
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "make_fixtures", os.path.join(here, "..", "..", "tests", "fixtures", "pkg", "make_fixtures.py"))
fx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fx)

out, size = sys.argv[1], int(sys.argv[2])
members = [(p, d, e) for p, d, e in fx.component_members("crashplan.pkg/") if not p.endswith("Payload")]
members.append(("crashplan.pkg/Payload", os.urandom(size << 20), "raw"))
dist = [("Distribution", fx.DISTRIBUTION, "zlib")] + members
with open(out, "wb") as f:
    f.write(fx.xar(dist))

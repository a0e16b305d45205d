import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("ci", max_examples=60, deadline=None)
settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("deep", max_examples=500, deadline=None)  # HYPOTHESIS_PROFILE=deep before a release
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

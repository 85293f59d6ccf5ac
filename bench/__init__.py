import sys
from pathlib import Path

# The benchmark builds records with the services' own models (the catalog's layout), as
# their tests do: the services and libraries are importable as when the apps run.
_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(_ROOT / "libs"), str(_ROOT / "services")]

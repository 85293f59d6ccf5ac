"""PyJWT stays out of a service's start: it holds ~9 MB, loaded with the first key set."""

import os
import subprocess
import sys


def test_importing_shop_auth_does_not_load_pyjwt() -> None:
    code = "import sys, shop_auth; print('jwt' in sys.modules, 'cryptography' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # pytest's pythonpath
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert found.stdout.split() == ["False", "False"]


def test_the_verifier_is_still_named_by_the_package() -> None:
    import shop_auth
    from shop_auth.verifier import JwtVerifier

    assert shop_auth.JwtVerifier is JwtVerifier

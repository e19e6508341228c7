"""Stand-in for the get-pip.py that ansible-test downloads to bootstrap pip in its venvs.

ansible-test fetches that script from a host these machines cannot reach. This stand-in does the
same job from what is here: it installs the pip bundled with Python (ensurepip), then lets that
pip install the exact pip version ansible-test asked for, from the package index.
"""
import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null in this process; pip needs the machine's config
# (certificate bundle, package index) afterwards.
environment = dict(os.environ)
ensurepip.bootstrap()
# get-pip.py takes pip-install arguments plus its own --no-setuptools/--no-wheel switches.
arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + arguments, env=environment)

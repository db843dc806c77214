"""The RPM plugin's pure parts: Pulp 2 RPM-family units decoded into frozen objects, and
repository metadata written from them with createrepo_c and libcomps (no database here)."""

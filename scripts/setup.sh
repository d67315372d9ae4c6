#!/usr/bin/env bash
# Installs what Concerto.Ingest needs on Debian 12 when it is missing: ffmpeg, libgtk-3-0 (OpenCvSharp's runtime),
# PostgreSQL server binaries, Debian's python3-numpy, python3-pil, python3-torch, python3-open3d and colmap (third-party
# readers in the tests),
# moto's S3 server (the S3 artifact store's tests; a pip package); with --browser also
# Chromium (the dashboard's browser tests). Idempotent, and quick (no apt or pip calls) when everything is already
# there. Node.js and npm (the dashboard's bundle) come with the machine.
# Needs root (or sudo) only when something has to be installed. The .NET SDK itself is a prerequisite.
set -euo pipefail

missing=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || missing+=(ffmpeg)
# OpenCvSharp4.official.runtime.linux-x64 links against GTK 3.
[ -e /usr/lib/x86_64-linux-gnu/libgtk-3.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libgtk-3.so.0 ] || missing+=(libgtk-3-0)
# The embedded database needs initdb and pg_ctl (skip with CONCERTO_SKIP_POSTGRES=1 when a server is configured).
if [ "${CONCERTO_SKIP_POSTGRES:-0}" != 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
# runuser (util-linux) runs the cluster as the postgres user when we are root.
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if [ "${1:-}" = --browser ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
# Third-party readers the tests hand our outputs to (Pointcept's loader logic, torch.load of exported encoders):
# Debian's own python3 with its numpy, PIL and torch packages.
for pkg in numpy:python3-numpy PIL:python3-pil torch:python3-torch open3d:python3-open3d; do
  /usr/bin/python3 -c "import ${pkg%%:*}" >/dev/null 2>&1 || missing+=("${pkg#*:}")
done
# COLMAP reads exported runs in the tests (`colmap model_analyzer`).
command -v colmap >/dev/null 2>&1 || missing+=(colmap)
# The S3 artifact store's tests run moto's S3 server (moto_server) in place of a bucket; pip installs it, so python3 and
# pip come first when they are missing too. The tests also look in pyenv's shims and ~/.local/bin, as here.
moto=0
if ! command -v moto_server >/dev/null 2>&1 && [ ! -x "${PYENV_ROOT:-$HOME/.pyenv}/shims/moto_server" ] &&
   [ ! -x "$HOME/.local/bin/moto_server" ]; then
  moto=1
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
fi

if [ ${#missing[@]} -eq 0 ] && [ "$moto" -eq 0 ]; then
  exit 0
fi

wanted=("${missing[@]}")
[ "$moto" -eq 0 ] || wanted+=("moto[server] (pip)")
echo "setup: installing ${wanted[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
  echo "setup: need root to install ${wanted[*]} (apt-get install ${missing[*]}; python3 -m pip install 'moto[server]')" >&2; exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a system cluster we do not use; leave it stopped so it holds no port or memory.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster >/dev/null 2>&1; then
  for c in /etc/postgresql/*/main; do
    [ -d "$c" ] && "${sudo[@]}" pg_ctlcluster "$(basename "$(dirname "$c")")" main stop >/dev/null 2>&1 || true
  done
fi
if [ "$moto" -eq 1 ]; then
  # Debian marks its python3 as externally managed; on a machine set up for these tests a system-wide moto is intended.
  "${sudo[@]}" env PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --disable-pip-version-check 'moto[server]>=5,<6'
  hash -r
  if ! command -v moto_server >/dev/null 2>&1; then
    echo "setup: pip installed moto, but moto_server is not on PATH (PATH=$PATH)" >&2; exit 1
  fi
fi
echo "setup: done" >&2

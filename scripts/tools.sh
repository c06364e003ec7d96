# What appgen needs on a machine of this kind (Debian 12, root) to build apps: the generator's gates
# install them with pnpm and look at them in Debian's Chromium (driven by playwright-core, which the
# smoke gate installs itself; never a downloaded browser). Sourced by scripts/serve and scripts/test.

ensure_app_tools() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm
  fi
  if ! command -v pnpm >/dev/null 2>&1; then
    echo "appgen: installing pnpm from npm"
    npm install --global --silent pnpm@10.34.9
  fi
  if [ ! -x /usr/bin/chromium ]; then
    echo "appgen: installing Debian's chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  # Git delivery commits and pushes with the git CLI.
  if ! command -v git >/dev/null 2>&1; then
    echo "appgen: installing git"
    apt-get update -qq && apt-get install -y -qq git >/dev/null
  fi
}

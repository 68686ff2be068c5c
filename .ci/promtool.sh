#!/usr/bin/env bash
# Checks the Prometheus config and alert rules, and runs the rules' unit tests:
#   promtool check rules  infra/prometheus/alerts.yml
#   promtool test rules   infra/prometheus/alerts.test.yml
#   promtool check config infra/prometheus/prometheus.yml
# Installs Debian's `prometheus` package (which ships promtool) when promtool is missing. Prints one
# closing summary line; exits non-zero when any step fails. Called by .ci/run.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool: installing Debian's prometheus package"
  # The package would start a Prometheus server (and recommends node-exporter). We only want the
  # binary: skip the recommends, and deny service starts while dpkg runs with a policy-rc.d that
  # answers 101 ("action forbidden"), which invoke-rc.d and deb-systemd-invoke both honour.
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [ -e "$policy" ]; then saved=$(mktemp); cp -p "$policy" "$saved"; fi
  restore_policy() {
    if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
  }
  trap restore_policy EXIT
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  install_status=$?
  restore_policy
  trap - EXIT
  if [ "$install_status" -ne 0 ] || ! command -v promtool >/dev/null 2>&1; then
    echo "promtool: FAILED to install the prometheus package"
    exit 1
  fi
fi

failed=()
step() {
  local name=$1
  shift
  echo "== promtool $*"
  if ! promtool "$@"; then failed+=("$name"); fi
}
step "check rules" check rules infra/prometheus/alerts.yml
step "test rules" test rules infra/prometheus/alerts.test.yml
step "check config" check config infra/prometheus/prometheus.yml

version=$(promtool --version 2>/dev/null | head -1 | awk '{print $3}')
if [ ${#failed[@]} -eq 0 ]; then
  echo "promtool ${version}: alert rules, rule tests and prometheus.yml OK"
else
  echo "promtool ${version}: FAILED: $(IFS=,; echo "${failed[*]}")"
  exit 1
fi

#!/usr/bin/env bash
# Install what the report's browser test needs: Debian's Chromium and ChromeDriver (no browser
# download at run time). Idempotent: calls apt-get only when one of them is missing.
set -euo pipefail

APT_PKGS=(chromium chromium-driver)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "apt-get install: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "browser ready: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"

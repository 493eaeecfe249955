# Shared by scripts/run and scripts/test: make .venv and install Hearth into it, once.
# Sourced, not run. Installs Debian packages only when root and missing; otherwise says how.
# Re-running is cheap: pip runs again only when pyproject.toml or the wanted extras change.

set -euo pipefail
HEARTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$HEARTH_ROOT/.venv"

say() { printf 'hearth: %s\n' "$*" >&2; }

apt_install() {
    # apt_install PACKAGE... : install Debian packages when we may; otherwise explain and fail.
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "installing $* with apt-get"
        if [ ! -f "$HEARTH_ROOT/.venv/.apt-updated" ] && [ -z "${HEARTH_APT_UPDATED:-}" ]; then
            DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
            export HEARTH_APT_UPDATED=1
        fi
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
    else
        say "missing: $*. Install it with:  sudo apt-get install $*"
        return 1
    fi
}

need_python() {
    PYTHON="${PYTHON:-python3}"
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        apt_install python3 python3-venv
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        say "Hearth needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)"
        exit 1
    fi
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
}

need_ffmpeg() {
    # ffmpeg transcodes; PyAV (from PyPI) probes in-process and does not need it.
    if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
        apt_install ffmpeg || say "Hearth will run, but cannot transcode until ffmpeg is installed"
    fi
}

need_chromium() {
    # The web app's end-to-end tests drive Debian's Chromium through Playwright; Playwright's
    # own browser download cannot work here, and is not needed.
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium || say "browser tests will be skipped until chromium is installed"
    fi
}

need_gmediarender() {
    # gmediarender (libupnp and GStreamer: a real UPnP renderer) plays the TV in the play-to-TV
    # tests, run only inside their network namespaces with fake video and audio sinks. Its
    # Debian package starts a daemon that would announce itself on the real network, so
    # policy-rc.d refuses every service start while it installs and the service is disabled.
    if command -v gmediarender >/dev/null 2>&1 &&
        [ -n "$(find /usr/lib -path '*gstreamer-1.0/libgstmpegtsdemux.so' -print -quit 2>/dev/null)" ]; then
        return 0
    fi
    local guard=/usr/sbin/policy-rc.d made=""
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$guard" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard" && made=1
    fi
    # plugins-bad holds tsdemux and h264parse: without them it cannot play the MPEG-TS transcode
    apt_install gmediarender gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav \
        || say "play-to-TV tests with a real renderer will be skipped until gmediarender is installed"
    if [ -n "$made" ]; then
        rm -f "$guard"
    fi
    if [ -e /etc/init.d/gmediarender ] && command -v update-rc.d >/dev/null 2>&1; then
        update-rc.d gmediarender disable >/dev/null 2>&1 || true
    fi
}

need_ssh_client() {
    # The relay plugin's link to its relay is OpenSSH's client (`ssh -R`, run by Hearth as a
    # child process); needed only by a box with a relay: block, and small.
    if ! command -v ssh >/dev/null 2>&1; then
        apt_install openssh-client \
            || say "remote access through a relay needs ssh (Debian: openssh-client)"
    fi
}

need_relay() {
    # The relay (scripts/relay/) is stock Debian software: OpenSSH's sshd and HAProxy. Its tests
    # run them only inside their own network namespaces and capture there with tcpdump. The
    # packages' own services (sshd on 22, haproxy) must not start on this machine, so
    # policy-rc.d refuses every service start while they install, as for gmediarender.
    if [ -x /usr/sbin/sshd ] && command -v haproxy >/dev/null 2>&1 &&
        command -v tcpdump >/dev/null 2>&1; then
        return 0
    fi
    local guard=/usr/sbin/policy-rc.d made=""
    if [ "$(id -u)" -eq 0 ] && [ ! -e "$guard" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod 755 "$guard" && made=1
    fi
    apt_install openssh-server haproxy tcpdump \
        || say "relay tests will be skipped until openssh-server, haproxy and tcpdump are installed"
    if [ -n "$made" ]; then
        rm -f "$guard"
    fi
}

need_pebble() {
    # Pebble (Let's Encrypt's test CA) and its pebble-challtestsrv (DNS answers for the test) issue
    # the relay's certificate in tests/relay/test_acme.py, run only inside that test's network
    # namespaces. The package starts no service; nothing is started here.
    if ! command -v pebble >/dev/null 2>&1 || ! command -v pebble-challtestsrv >/dev/null 2>&1; then
        apt_install pebble || say "ACME tests will be skipped until pebble is installed"
    fi
}

need_vlc() {
    # VLC (cvlc with dummy outputs) is the HLS client in tests/core/playback/test_hls_continuity.py:
    # it must play a whole session without logging a discontinuity. No service comes with it.
    if ! command -v cvlc >/dev/null 2>&1; then
        apt_install vlc-bin vlc-plugin-base || say "VLC tests will be skipped until vlc-bin is installed"
    fi
}

need_packaging() {
    # tests/packaging: scripts/build-deb needs dpkg-deb; the package is installed into a Debian 12
    # root made by debootstrap (cached in /var/cache/hearth-test) and its unit checked with
    # systemd-analyze. Installing systemd here starts nothing (no systemd runs in a container).
    if ! command -v debootstrap >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1 ||
        ! command -v systemd-analyze >/dev/null 2>&1; then
        apt_install debootstrap dpkg-dev systemd ||
            say "packaging tests will be skipped until debootstrap, dpkg-dev and systemd are installed"
    fi
}

bootstrap() {
    # bootstrap [EXTRAS] : .venv with Hearth installed (editable) with the given extras.
    local extras="${1:-}"
    need_python
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    local spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    local stamp="$VENV/.hearth-installed"
    local hash want
    hash="$(sha256sum <"$HEARTH_ROOT/pyproject.toml" | cut -d" " -f1)"
    want="$hash $spec"
    # One line per install made for this pyproject.toml; any of them satisfies plain "." (every
    # extra includes the base), so scripts/run after scripts/test neither reinstalls nor needs
    # the network — a box may well be offline once it is set up.
    if [ -f "$stamp" ] && { grep -qxF "$want" "$stamp" ||
        { [ "$spec" = "." ] && grep -q "^$hash " "$stamp"; }; }; then
        return
    fi
    say "installing Hearth into .venv ($spec)"
    # A newer pip is welcome, not needed: offline, this fails fast and the install goes on
    "$VENV/bin/python" -m pip install -q --upgrade --retries 0 --timeout 10 pip ||
        say "could not update pip (offline?); using the one in .venv"
    (cd "$HEARTH_ROOT" && "$VENV/bin/python" -m pip install -q -e "$spec")
    grep -s "^$hash " "$stamp" >"$stamp.new" || true
    printf '%s\n' "$want" >>"$stamp.new"
    mv "$stamp.new" "$stamp"
}

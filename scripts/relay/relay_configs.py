"""The configuration texts setup writes: sshd_config, haproxy.cfg and a systemd unit.

Standard library only. Pure functions of the settings; nothing here touches a file or a process.
Each text says why its lines are there, since an operator will read it on the relay itself.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from relay_files import Layout, Settings

# ClientAliveInterval x ClientAliveCountMax: a box whose path died is noticed within 30 s, and
# its port is free for the box's next connection soon after.
ALIVE_INTERVAL, ALIVE_COUNT = 10, 3


def sshd_config(layout: Layout, settings: Settings) -> str:
    """An sshd that lets enrolled keys do one thing: listen on their own loopback port."""
    if settings.user == "root":
        root_login = "prohibit-password  # --root layout run as root: key only, as any box"
    else:
        root_login = "no"
    strict = "yes" if layout.system else "no  # --root layout: its parents may be world-writable"
    return f"""\
# Hearth relay sshd. Written by scripts/relay/setup; re-running setup rewrites it.
# Boxes log in as {settings.user} with the key enrolled for them and may only open the
# remote forward that their authorized_keys line allows (permitlisten); nothing else.
Port {settings.ssh_port}
HostKey {layout.host_key}
HostKeyAlgorithms ssh-ed25519
PidFile {layout.sshd_pid}
AuthorizedKeysFile {layout.authorized_keys}
AllowUsers {settings.user}
PermitRootLogin {root_login}
StrictModes {strict}

# keys only, and only ed25519 (what boxes make)
PubkeyAuthentication yes
PubkeyAcceptedAlgorithms ssh-ed25519
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
GSSAPIAuthentication no
UsePAM no
AuthenticationMethods publickey
MaxAuthTries 3
LoginGraceTime 20

# forwarding: remote (-R) only, onto 127.0.0.1 only, never another host's connection
AllowTcpForwarding remote
AllowStreamLocalForwarding no
GatewayPorts no
PermitListen 127.0.0.1:*
PermitOpen none
PermitTunnel no
X11Forwarding no
AllowAgentForwarding no

# no shell, no command, no terminal: MaxSessions 0 refuses every session channel while
# forwarding goes on; ForceCommand is there should a later change lift that
MaxSessions 0
ForceCommand /bin/false
PermitTTY no
PermitUserEnvironment no
PermitUserRC no
Subsystem sftp /bin/false

# a box whose path died is dropped within {ALIVE_INTERVAL * ALIVE_COUNT} s, freeing its port
ClientAliveInterval {ALIVE_INTERVAL}
ClientAliveCountMax {ALIVE_COUNT}
TCPKeepAlive no

UseDNS no
PrintMotd no
PrintLastLog no
Compression no
# VERBOSE logs the fingerprint of the key each box logged in with
LogLevel VERBOSE
"""


def haproxy_cfg(layout: Layout, settings: Settings, *, ipv6: bool, drop_to: str | None) -> str:
    """HAProxy in TCP mode: read the SNI of the ClientHello, pass the bytes on untouched."""
    boxes = layout.map_file
    lookup = f"req.ssl_sni,lower,map({boxes})"
    binds = f"    bind :{settings.https_port}\n"
    if ipv6:
        binds += f"    bind :::{settings.https_port} v6only\n"
    user = f"    user {drop_to}\n    group {drop_to}\n" if drop_to else ""
    return f"""\
# Hearth relay HAProxy. Written by scripts/relay/setup; re-running setup rewrites it.
# It never terminates TLS: it reads the server name (SNI) in the phone's ClientHello, looks it
# up in {boxes.name} and passes the connection on, byte for byte, to that box's loopback port,
# where the box's SSH tunnel carries it home. enrol and revoke change the map live through
# the runtime socket as well as on disk.
global
    log stderr format raw daemon notice
    stats socket {layout.haproxy_socket} mode 600 level admin
    stats timeout 30s
    maxconn 4096
{user}
defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 10m
    timeout server 10m
    timeout client-fin 30s
    timeout server-fin 30s

frontend https
{binds}    # wait (up to 5 s) for a whole ClientHello; refuse names nobody enrolled, and
    # anything that is not TLS, without answering a byte
    tcp-request inspect-delay 5s
    tcp-request content reject if {{ req.ssl_hello_type 1 }} !{{ {lookup} -m found }}
    tcp-request content accept if {{ req.ssl_hello_type 1 }}
    tcp-request content reject
    default_backend boxes

backend boxes
    # the map says 127.0.0.1:PORT; the one server below has no address of its own and goes
    # wherever these two rules point the connection
    tcp-request content set-dst {lookup},field(1,:)
    tcp-request content set-dst-port {lookup},field(2,:)
    # send-proxy-v2: the first bytes each box receives say who the phone is (the PROXY
    # protocol's binary header, before the phone's TLS), since every connection reaches the
    # box from this relay's loopback; boxes throttle sign-in and log by that address, and
    # refuse a connection without it
    server box 0.0.0.0:0 send-proxy-v2
"""


def systemd_unit(run_script: Path) -> str:
    """One service: `run` keeps sshd and haproxy in the foreground and stops both together."""
    return f"""\
# Written by scripts/relay/setup.
[Unit]
Description=Hearth relay (sshd for boxes, HAProxy routing TLS by SNI)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart={shlex.quote(str(run_script))}
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

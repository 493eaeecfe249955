"""The relay link's ProxyCommand: fetches the connection the box opened and gives it to ssh.

OpenSSH runs this (`ProxyCommand` with `ProxyUseFdpass yes`) instead of connecting by itself,
so the link's TCP connection is the one the box opened through its egress gate (the ledger
shows it and its bytes). It connects to the relay plugin's private control socket named in
its one argument, receives the connected socket (SCM_RIGHTS) and passes it on to ssh over its
standard output, then exits. Standard library only, run with `python -I`: it imports nothing
of Hearth's, opens no network connection and never reads or writes what the link carries.
A refusal (the gate's, or a failed connection) arrives as text instead of a socket: it goes to
standard error, where ssh's own messages go, and the exit status is 1.
"""

from __future__ import annotations

import socket
import sys


def main(control_path: str) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as control:
        control.connect(control_path)
        message, fds, _flags, _address = socket.recv_fds(control, 1024, 1)
    if not fds:
        sys.stderr.write(message.decode("utf-8", "replace") or "no connection to the relay")
        sys.stderr.write("\n")
        return 1
    with socket.socket(fileno=sys.stdout.fileno()) as out:  # ssh's end of a socket pair
        socket.send_fds(out, [b"\0"], fds)
        out.detach()  # ssh closes its pair; this process exits
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

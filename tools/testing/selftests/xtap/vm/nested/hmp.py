#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Send human monitor commands to a QEMU listening on a unix socket.

    hmp.py SOCKET CMD...

Waits up to 30 s for the socket, runs every CMD in turn and prints each
answer (without the prompt).  Exits 1 when QEMU cannot be reached.
"""

import socket
import sys
import time

PROMPT = b"(qemu) "


def read_prompt(s):
    buf = b""
    while not buf.endswith(PROMPT):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.time() + 30
    while True:
        try:
            s.connect(sys.argv[1])
            break
        except OSError:
            if time.time() > deadline:
                print("hmp: cannot connect to " + sys.argv[1])
                sys.exit(1)
            time.sleep(0.2)
    s.settimeout(120)
    read_prompt(s)
    for cmd in sys.argv[2:]:
        s.sendall(cmd.encode() + b"\n")
        if cmd == "quit":
            break
        out = read_prompt(s)[:-len(PROMPT)].decode(errors="replace")
        # The monitor echoes the command line first.
        print("\n".join(out.replace("\r", "").split("\n")[1:]).strip())


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host end of the nested guest's bulk transfers (see vm/nested/lib.sh).

    peer.py NIC:ADDR:BYTES ...

For every NIC, listen on ADDR:5001 and ADDR:5002 and serve one connection
on each: 5001 sends BYTES of random data to the guest (host -> guest), 5002
reads whatever the guest sends until EOF (guest -> host; the guest echoes
what it received).  Prints one line per event, flushed at once:

    peer nic=N dir=h2g bytes=B sha256=H     (what was sent)
    peer nic=N dir=g2h bytes=B sha256=H     (what came back)
    peer nic=N error=TEXT
"""

import hashlib
import os
import socket
import sys
import threading

SEND_PORT = 5001
RECV_PORT = 5002
lock = threading.Lock()


def say(line):
    with lock:
        print("peer " + line, flush=True)


def listener(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1)
    return s


def serve_send(nic, srv, data):
    try:
        conn, _ = srv.accept()
        with conn:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            # Drain to the guest's EOF: unread input would make close()
            # reset the connection and drop data still queued to send.
            while conn.recv(65536):
                pass
        say("nic=%d dir=h2g bytes=%d sha256=%s"
            % (nic, len(data), hashlib.sha256(data).hexdigest()))
    except OSError as e:
        say("nic=%d error=%s" % (nic, str(e).replace(" ", "_")))


def serve_recv(nic, srv):
    try:
        conn, _ = srv.accept()
        h = hashlib.sha256()
        n = 0
        with conn:
            while True:
                b = conn.recv(262144)
                if not b:
                    break
                h.update(b)
                n += len(b)
        say("nic=%d dir=g2h bytes=%d sha256=%s" % (nic, n, h.hexdigest()))
    except OSError as e:
        say("nic=%d error=%s" % (nic, str(e).replace(" ", "_")))


def main():
    threads = []
    for spec in sys.argv[1:]:
        nic, addr, nbytes = spec.split(":")
        nic, nbytes = int(nic), int(nbytes)
        data = os.urandom(nbytes)
        s1 = listener(addr, SEND_PORT)
        s2 = listener(addr, RECV_PORT)
        threads.append(threading.Thread(target=serve_send, args=(nic, s1, data),
                                        daemon=True))
        threads.append(threading.Thread(target=serve_recv, args=(nic, s2),
                                        daemon=True))
    for t in threads:
        t.start()
    say("ready")
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()

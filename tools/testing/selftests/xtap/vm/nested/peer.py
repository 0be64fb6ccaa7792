#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Host end of the nested guest's bulk transfers (see vm/nested/lib.sh).

    peer.py [--stream DIR [--rate R]] NIC:ADDR:BYTES ...

For every NIC, listen on ADDR:5001 and ADDR:5002 and serve one connection
on each: 5001 sends BYTES of random data to the guest (host -> guest), 5002
reads whatever the guest sends until EOF (guest -> host; the guest echoes
what it received).  Prints one line per event, flushed at once:

    peer nic=N dir=h2g bytes=B sha256=H     (what was sent)
    peer nic=N dir=g2h bytes=B sha256=H     (what came back)
    peer nic=N error=TEXT

With --stream DIR, a NIC whose BYTES is 0 gets a stream instead, whose
length is decided while it flows (migrate_qemu.sh): 5001 sends random data
until the file DIR/stop-N appears, then a last TAIL bytes, and closes; no
5002.  While it sends, DIR/progress-N holds "sent=S acked=A", rewritten
every half second (A: bytes the guest acknowledged, from TCP_INFO).  The
h2g line then covers every byte sent, tail included, and says why the
stream ended (stop=file, or stop=cap after CAP bytes, a bound on the
guest's memory).  --rate R paces the stream until the stop at R bytes a
second (the tail goes at once), so that the guest's receive window stays
open for longer.
"""

import hashlib
import os
import select
import socket
import struct
import sys
import threading
import time

SEND_PORT = 5001
RECV_PORT = 5002
lock = threading.Lock()
CHUNK = 16384
TAIL = 65536
CAP = 64 << 20
# struct tcp_info: tcpi_bytes_acked (u64) is at byte 120 (linux/tcp.h).
TCPI_BYTES_ACKED = 120


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


def acked(conn):
    info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    if len(info) < TCPI_BYTES_ACKED + 8:
        return -1
    return struct.unpack_from("=Q", info, TCPI_BYTES_ACKED)[0]


def serve_stream(nic, srv, sdir, rate):
    stop = os.path.join(sdir, "stop-%d" % nic)
    progress = os.path.join(sdir, "progress-%d" % nic)
    h = hashlib.sha256()
    sent = 0
    why = ""
    try:
        while True:
            conn, _ = srv.accept()
            # A connection the guest gave up on before it got a byte
            # (reset while the machine was starved) is not the stream.
            conn.setblocking(False)
            try:
                conn.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                pass
            except OSError:
                conn.close()
                continue
            break
        with conn:
            # A small send buffer: "sent" stays close to what the guest
            # got, and little is left to deliver after the stop.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            conn.setblocking(False)
            buf = b""
            end = None
            last = 0.0
            t0 = time.time()
            while True:
                now = time.time()
                if now - last >= 0.5:
                    tmp = progress + ".tmp"
                    with open(tmp, "w") as f:
                        f.write("sent=%d acked=%d\n" % (sent, acked(conn)))
                    os.rename(tmp, progress)
                    last = now
                if end is None and (os.path.exists(stop) or sent >= CAP):
                    why = "file" if os.path.exists(stop) else "cap"
                    end = sent + len(buf) + TAIL
                if not buf:
                    if end is not None and sent >= end:
                        break
                    n = CHUNK if end is None else min(CHUNK, end - sent)
                    buf = os.urandom(n)
                    h.update(buf)
                if end is None and rate and sent >= rate * (now - t0):
                    time.sleep(0.05)
                    continue
                _, w, _ = select.select([], [conn], [], 0.5)
                if w:
                    try:
                        n = conn.send(buf)
                    except BlockingIOError:
                        n = 0
                    sent += n
                    buf = buf[n:]
            conn.setblocking(True)
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(65536):
                pass
        say("nic=%d dir=h2g bytes=%d sha256=%s stop=%s"
            % (nic, sent, h.hexdigest(), why))
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
    args = sys.argv[1:]
    sdir = None
    rate = 0
    if args[:1] == ["--stream"]:
        sdir = args[1]
        args = args[2:]
    if args[:1] == ["--rate"]:
        rate = int(args[1])
        args = args[2:]
    for spec in args:
        nic, addr, nbytes = spec.split(":")
        nic, nbytes = int(nic), int(nbytes)
        s1 = listener(addr, SEND_PORT)
        if sdir is not None and nbytes == 0:
            threads.append(threading.Thread(target=serve_stream,
                                            args=(nic, s1, sdir, rate),
                                            daemon=True))
            continue
        data = os.urandom(nbytes)
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

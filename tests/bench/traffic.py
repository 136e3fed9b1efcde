#!/usr/bin/env python3
"""One traffic class of the benchmark's matrix, between a receiver and a
sender (each may run inside a test namespace with `ip netns exec`).

  traffic.py recv tcp|udp ADDR PORT          prints "ready", reads until killed
  traffic.py send tcp|udp ADDR PORT SIZE SECONDS
                                             writes SIZE-byte messages (TCP:
                                             writes with TCP_NODELAY; UDP:
                                             datagrams) for SECONDS, prints
                                             the count

Datagrams of 32 KB are paged on loopback (and fragmented on a 1500-byte
veth), the case where the socket-read tracepoint sees UDP at all.
"""
import socket
import sys
import time


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(proto, addr, port):
    if proto == "tcp":
        srv = socket.socket(family(addr), socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(1)
        print("ready", flush=True)
        conn, _ = srv.accept()
        while conn.recv(1 << 16):
            pass
    else:
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.bind((addr, port))
        print("ready", flush=True)
        while True:
            s.recv(1 << 16)


def send(proto, addr, port, size, seconds):
    payload = b"n" * size
    end = time.monotonic() + seconds
    n = 0
    if proto == "tcp":
        s = socket.create_connection((addr, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while time.monotonic() < end:
            s.sendall(payload)
            n += 1
    else:
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        while time.monotonic() < end:
            try:
                s.sendto(payload, (addr, port))
                n += 1
            except OSError:  # the receiver's buffer is full: a moment
                time.sleep(0.0005)
            if n % 64 == 0:
                time.sleep(0.0002)  # let the reader keep up (fewer drops)
    s.close()
    print(n, flush=True)


def main():
    role, proto, addr, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if role == "recv":
        recv(proto, addr, port)
    else:
        send(proto, addr, port, int(sys.argv[5]), float(sys.argv[6]))


if __name__ == "__main__":
    main()

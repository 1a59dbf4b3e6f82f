#!/usr/bin/env python3
"""serial_driver.py SCRIPT ISO SERIAL_OUT TIMEOUT_SECONDS

Boots ISO in Bochs (scripts/bochs.sh) with COM1 connected to a TCP socket
this driver listens on (BOCHS_COM1_SOCKET), writes everything the machine
prints to SERIAL_OUT, and types into the machine's serial port as SCRIPT
says. SCRIPT has one step a line:

    expect REGEX   wait (at most STEP_TIMEOUT s) until the output after the
                   previous match has a match of REGEX (Python syntax,
                   searched in the raw byte stream, so prompts without a
                   line end count)
    send TEXT      type TEXT; \\r, \\n, \\xNN escapes as in Python (\\x01 is
                   Ctrl-A); each byte is sent a little apart, as typed
    sleep SECONDS  record what comes for that long (wall time) first
    # ...          a comment

A step that times out is reported on stderr and in SERIAL_OUT as
"serial_driver: step N timed out: ..." and the script stops there; the
driver keeps recording until Bochs ends. The checks are the scenario's
expectations on SERIAL_OUT: the driver never decides pass or fail.
"""
import os
import re
import select
import socket
import subprocess
import sys
import time

STEP_TIMEOUT = float(os.environ.get("STEP_TIMEOUT", "240"))
BYTE_GAP = 0.02


def main():
    script, iso, out_path, timeout_s = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    steps = []
    with open(script) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            verb, _, arg = line.partition(" ")
            if verb == "expect":
                steps.append((n, verb, re.compile(arg.encode())))
            elif verb == "send":
                steps.append((n, verb, arg.encode().decode("unicode_escape").encode("latin-1")))
            elif verb == "sleep":
                steps.append((n, verb, float(arg)))
            else:
                sys.exit(f"{script}:{n}: unknown step '{verb}'")

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    env = dict(os.environ, BOCHS_COM1_SOCKET=f"localhost:{port}")
    bochs = subprocess.Popen(["scripts/bochs.sh", iso, out_path, str(timeout_s)], env=env)

    out = open(out_path, "wb")
    buf = b""
    pos = 0  # output before pos was matched by an earlier expect
    srv.settimeout(60)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        out.write(b"serial_driver: Bochs never connected to COM1's socket\n")
        bochs.wait()
        return
    conn.setblocking(False)

    def pump(wait):
        """Read what is there (waiting up to wait s); False at end of stream."""
        nonlocal buf
        r, _, _ = select.select([conn], [], [], wait)
        if not r:
            return True
        try:
            data = conn.recv(65536)
        except (BlockingIOError, ConnectionResetError):
            return True
        if not data:
            return False
        buf += data
        out.write(data)
        out.flush()
        return True

    alive = True
    for n, verb, arg in steps:
        if not alive:
            break
        if verb == "sleep":
            end = time.time() + arg
            while alive and time.time() < end and bochs.poll() is None:
                alive = pump(0.2)
            continue
        if verb == "send":
            for b in arg:
                conn.sendall(bytes([b]))
                alive = pump(BYTE_GAP) and alive
            continue
        deadline = time.time() + STEP_TIMEOUT
        while True:
            m = arg.search(buf, pos)
            if m:
                pos = m.end()
                break
            if not alive or time.time() > deadline or bochs.poll() is not None:
                msg = f"serial_driver: step {n} timed out: expect {arg.pattern.decode()}\n"
                sys.stderr.write(msg)
                out.write(b"\n" + msg.encode())
                alive = False
                break
            alive = pump(0.2)
    # Record the rest until Bochs ends (machine stop, or its timeout).
    while alive and bochs.poll() is None:
        alive = pump(0.5)
    while pump(0.1) and bochs.poll() is None:
        pass
    bochs.wait()
    out.close()


if __name__ == "__main__":
    main()

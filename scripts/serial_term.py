#!/usr/bin/env python3
"""serial_term.py ISO TIMEOUT_SECONDS

make run's console under Bochs: boots ISO in Bochs (scripts/bochs.sh) with
COM1 connected to a TCP socket this script listens on (BOCHS_COM1_SOCKET,
as tests/tools/serial_driver.py does for the tests), and joins that socket
to this terminal both ways: what the machine prints appears here, what you
type goes to its serial port (the hypervisor hands it to the VM with the
console, or to its shell: docs/console-and-shell.md). The terminal is in
raw mode, so Ctrl-A and Ctrl-C reach the machine; Ctrl-] ends the session.
"""
import os
import select
import socket
import subprocess
import sys
import termios
import tty

QUIT = b"\x1d"  # Ctrl-]


def main():
    iso, timeout_s = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    env = dict(os.environ, BOCHS_COM1_SOCKET=f"localhost:{srv.getsockname()[1]}")
    bochs = subprocess.Popen(["scripts/bochs.sh", iso, "/dev/null", timeout_s], env=env)
    srv.settimeout(60)
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        bochs.terminate()
        sys.exit("make run: Bochs did not connect its COM1 to the console socket")
    stdin = sys.stdin.fileno()
    saved = termios.tcgetattr(stdin)
    tty.setraw(stdin)
    try:
        while bochs.poll() is None:
            ready, _, _ = select.select([conn, stdin], [], [], 0.5)
            if conn in ready:
                data = conn.recv(4096)
                if not data:
                    break
                os.write(sys.stdout.fileno(), data)
            if stdin in ready:
                data = os.read(stdin, 1024)
                if QUIT in data:
                    break
                conn.sendall(data)
    finally:
        termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
        if bochs.poll() is None:
            bochs.terminate()
        print("\r\nmake run: session ended")


if __name__ == "__main__":
    main()

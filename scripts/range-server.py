#!/usr/bin/env python3
"""A static server for measuring loads: HTTP/1.1 keep-alive, single byte ranges (206) sent with sendfile(2), so
the kernel copies file pages straight to the socket and the server is not what a load's rate measures (the
device-chrome driver's server copies through Python at ~0.8 GB/s). As a web host would serve the app: `.wasm` as
application/wasm, a route without an extension (such as /gptoss) gets index.html, a missing file with one is a 404.

    python3 scripts/range-server.py FOLDER PORT
"""
import http.server
import os
import socketserver
import sys

TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
         '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png',
         '.svg': 'image/svg+xml', '.gguf': 'application/octet-stream'}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    root = '.'

    def log_message(self, fmt, *args):
        pass

    def resolve(self):
        rel = self.path.split('?', 1)[0].split('#', 1)[0].lstrip('/')
        path = os.path.realpath(os.path.join(self.root, rel))
        if os.path.isdir(path):
            path = os.path.join(path, 'index.html')
        if not os.path.exists(path) and '.' not in os.path.basename(rel):
            path = os.path.join(self.root, 'index.html')
        return path if os.path.isfile(path) else None

    def head_or_get(self, body):
        path = self.resolve()
        if path is None:
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        size = os.path.getsize(path)
        start, end, status = 0, size - 1, 200
        rng = self.headers.get('Range', '')
        if rng.startswith('bytes=') and ',' not in rng:
            a, _, b = rng[6:].partition('-')
            try:
                start, end = (size - int(b), size - 1) if a == '' else (int(a), min(int(b), size - 1) if b else size - 1)
            except ValueError:
                start, end = 0, size - 1
            status = 206
            if start < 0 or start > end or start >= size:
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{size}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
        self.send_response(status)
        self.send_header('Content-Type', TYPES.get(os.path.splitext(path)[1], 'application/octet-stream'))
        self.send_header('Content-Length', str(end - start + 1))
        self.send_header('Accept-Ranges', 'bytes')
        self.send_header('Cache-Control', 'no-store')
        if status == 206:
            self.send_header('Content-Range', f'bytes {start}-{end}/{size}')
        self.end_headers()
        if not body:
            return
        self.wfile.flush()
        with open(path, 'rb') as f:
            left, at = end - start + 1, start
            while left > 0:
                sent = os.sendfile(self.connection.fileno(), f.fileno(), at, min(left, 1 << 30))
                if sent == 0:
                    break
                at, left = at + sent, left - sent

    def do_HEAD(self):
        self.head_or_get(False)

    def do_GET(self):
        self.head_or_get(True)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == '__main__':
    Handler.root = os.path.realpath(sys.argv[1])
    Server(('127.0.0.1', int(sys.argv[2])), Handler).serve_forever()

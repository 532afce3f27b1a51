"""usage: threading_http_server.py PORT DIRECTORY
What `python3 -m http.server --bind 127.0.0.1 --directory DIRECTORY PORT` runs
(a ThreadingHTTPServer: a thread per connection), with its listen backlog
raised from socketserver's 5 to 1024: with 5, ab -c 100 makes the kernel drop
connection attempts, whose retries (1 to 31 s later) then decide the result,
with or without greenrun."""
import functools
import http.server
import sys

http.server.ThreadingHTTPServer.request_queue_size = 1024
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()

"""Production server settings: `gunicorn -c gunicorn.conf.py 'app:create_app()'` behind a reverse proxy."""

import os

bind = "127.0.0.1:5000"
# 2 cores: two processes (one per core), each with a few threads for requests that wait on I/O.
workers = 2
threads = 4
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# The app is made once, before the workers are forked: they share its rate-limit table (one count per server,
# not per worker) and the pages of code and data they never write.
preload_app = True
# Bound request lines and headers: nothing this site serves needs more.
limit_request_line = 8190
limit_request_fields = 50
limit_request_field_size = 8190

# One access line per request with the path only (%(U)s), never the query string (%(q)s, %(r)s) that holds
# what someone searched for, and no client address. The request id matches the app's error lines.
accesslog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
errorlog = "-"
loglevel = "info"
raw_env = [
    # gunicorn writes the access line, so the app does not log each request a second time.
    "KB_LOG_REQUESTS=0",
    # Searches, answers and the API: per client address, for the whole server (see README, Production).
    f"KB_RATE_LIMIT={os.environ.get('KB_RATE_LIMIT', '120/60')}",
]
# The control socket (gunicorn >= 25.1) sits at one path per user: replicas on one host would fight over it,
# and nothing here uses gunicornc.
control_socket_disable = True

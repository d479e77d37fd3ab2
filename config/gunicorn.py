"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi`.

The access log goes to stderr with mobile numbers in query strings and referers masked
(config.log_filters.GunicornLogger); workers, threads and the bind address come from the
usual GUNICORN_CMD_ARGS / command-line options."""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
logger_class = "config.log_filters.GunicornLogger"

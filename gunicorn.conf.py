# gunicorn reads this file when it is started from the root of the checkout (its default
# ``./gunicorn.conf.py``): the access log goes through the same redaction as the app's logs
# (query strings masked; careos/gunicorn_logging.py). Command-line options still apply.
logger_class = "careos.gunicorn_logging.RedactingGunicornLogger"

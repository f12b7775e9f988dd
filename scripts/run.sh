#!/usr/bin/env bash
# Start the web server and a task worker together; Ctrl-C stops both.
set -u
BIN=${BIN:-.venv/bin}
"$BIN/python" manage.py qcluster &
worker=$!
"$BIN/python" manage.py runserver 127.0.0.1:8000 --noreload &
web=$!
trap 'kill $worker $web 2>/dev/null; wait 2>/dev/null; echo; echo "stopped"; exit 0' INT TERM
sleep 2
echo
echo "  ShopConnect is running."
echo "  Admin:  http://127.0.0.1:8000/admin/   login: admin / admin"
echo "  API:    http://127.0.0.1:8000/api/docs/"
echo "  Ctrl-C stops the web server and the worker."
echo
wait -n $worker $web
kill $worker $web 2>/dev/null
wait 2>/dev/null

#!/usr/bin/env bash
# squid.sh PORT CPU: Squid from Debian, one process (-N), CONNECT to every
# port allowed from localhost, no cache, no access log. h1 only (Debian's
# squid is the GnuTLS build without an https_port worth comparing).
source "$(dirname "$0")/lib.sh"
parse_args "$@"
raise_nofile
if ! command -v squid >/dev/null; then
	(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q squid) >&2
fi
dir=$(state_dir squid)
# Squid drops root for the "proxy" user, which must write here.
chmod 777 "$dir"
cat >"$dir/squid.conf" <<SQUID
http_port 127.0.0.1:$PORT
visible_hostname localhost
pid_filename $dir/squid.pid
cache_log $dir/cache.log
coredump_dir $dir
access_log none
cache_store_log none
logfile_rotate 0
cache deny all
cache_mem 0 MB
workers 1
max_filedescriptors $(ulimit -n)
shutdown_lifetime 0 seconds
# No "deny CONNECT !SSL_ports" rule: CONNECT to every port.
acl localhost_src src 127.0.0.1/32
http_access allow localhost_src
http_access deny all
SQUID
taskset -c "$CPU" squid -N -f "$dir/squid.conf" </dev/null >"$dir/log" 2>&1 &
pid=$!
wait_ready "$pid" "$PORT" "$dir/log"
echo "$pid"

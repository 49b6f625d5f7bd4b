#!/usr/bin/env bash
# nginx-stream.sh PORT CPU: nginx's stream module from Debian as a plain L4
# relay from PORT to the load tool's origin ($BENCH_ORIGIN, default
# 127.0.0.1:21000). No CONNECT: the load tool runs with -proto raw. It is
# the reference for the cheapest byte relay, not a CONNECT proxy.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
raise_nofile
mod=/usr/lib/nginx/modules/ngx_stream_module.so
if ! command -v nginx >/dev/null || [ ! -f "$mod" ]; then
	(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx libnginx-mod-stream) >&2
fi
dir=$(state_dir nginx-stream)
# master_process off: one process does all the work, so its PID is the one
# to sample (a master plus a worker would split CPU and RSS).
cat >"$dir/nginx.conf" <<NGINX
load_module $mod;
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $dir/nginx.pid;
error_log $dir/error.log error;
events {
	worker_connections $(ulimit -n);
}
stream {
	server {
		listen 127.0.0.1:$PORT;
		proxy_pass $ORIGIN_ADDR;
	}
}
NGINX
taskset -c "$CPU" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" </dev/null >"$dir/log" 2>&1 &
pid=$!
# Nothing listens at the origin yet, but the relay's own port is ready.
wait_ready "$pid" "$PORT" "$dir/log"
echo "$pid"

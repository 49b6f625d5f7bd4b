#!/usr/bin/env bash
# goproxy.sh PORT CPU: the plain Go net/http CONNECT proxy (goroutine per
# connection, io.Copy). h1 on PORT, h1-in-TLS and h2 on PORT+1, h3 (quic-go's
# http3 server) on UDP PORT+1.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
udp_port_free "$TLS_PORT"
raise_nofile
if [ -z "${BENCH_PREBUILT:-}" ] || [ ! -x "$BIN_DIR/goproxy" ]; then
	(cd "$REPO_DIR" && go build -o "$BIN_DIR/goproxy" ./benchmarks/peers/goproxy) >&2
fi
dir=$(state_dir goproxy)
taskset -c "$CPU" "$BIN_DIR/goproxy" -listen "127.0.0.1:$PORT" -listen-tls "127.0.0.1:$TLS_PORT" \
	-listen-quic "127.0.0.1:$TLS_PORT" \
	</dev/null >"$dir/log" 2>&1 &
pid=$!
wait_ready "$pid" "$PORT" "$dir/log"
wait_ready "$pid" "$TLS_PORT" "$dir/log"
wait_udp "$pid" "$TLS_PORT" "$dir/log"
echo "$pid"

#!/usr/bin/env bash
# masque.sh PORT CPU: masque-go's connect-udp proxy (peers/masque: its
# masque.Proxy behind quic-go's http3.Server, HTTP/3 datagrams on) on UDP
# PORT+1, like the other HTTP/3 peers. It speaks only connect-udp over
# HTTP/3, so only the dgram tests run on it; nothing listens on TCP.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
udp_port_free "$TLS_PORT"
raise_nofile
if [ -z "${BENCH_PREBUILT:-}" ] || [ ! -x "$BIN_DIR/masque" ]; then
	(cd "$REPO_DIR" && go build -o "$BIN_DIR/masque" ./benchmarks/peers/masque) >&2
fi
dir=$(state_dir masque)
taskset -c "$CPU" "$BIN_DIR/masque" -listen-quic "127.0.0.1:$TLS_PORT" \
	</dev/null >"$dir/log" 2>&1 &
pid=$!
wait_udp "$pid" "$TLS_PORT" "$dir/log"
echo "$pid"

#!/usr/bin/env bash
# sluice.sh PORT CPU: sluice itself, built from ./cmd/sluice. h1 (and h2c)
# on PORT, h1-in-TLS and h2 on PORT+1, h3 on UDP PORT+1 (sluice serves
# QUIC on the --listen-tls address by default), one worker, no access log,
# every port and loopback targets allowed (the origin is on 127.0.0.1).
# SLUICE_ARGS adds flags, e.g. SLUICE_ARGS="--camouflage go" to measure
# against sluice-base without them.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
udp_port_free "$TLS_PORT"
raise_nofile
if [ -z "${BENCH_PREBUILT:-}" ] || [ ! -x "$BIN_DIR/sluice" ]; then
	(cd "$REPO_DIR" && go build -o "$BIN_DIR/sluice" ./cmd/sluice) >&2 || die "cmd/sluice does not build"
fi
dir=$(state_dir sluice)
taskset -c "$CPU" "$BIN_DIR/sluice" --listen "127.0.0.1:$PORT" --listen-tls "127.0.0.1:$TLS_PORT" \
	--allow-ports all --allow-private --access-log off --workers 1 ${SLUICE_ARGS:-} \
	</dev/null >"$dir/log" 2>&1 &
pid=$!
wait_ready "$pid" "$PORT" "$dir/log"
wait_ready "$pid" "$TLS_PORT" "$dir/log"
wait_udp "$pid" "$TLS_PORT" "$dir/log"
echo "$pid"

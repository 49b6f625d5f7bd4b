#!/usr/bin/env bash
# sluice-base.sh PORT CPU: sluice as it was at the commit BENCH_BASE (a
# revision git understands, default HEAD), run exactly as sluice.sh runs
# the working tree, so one run of run.sh measures a change before and
# after: `BENCH_BASE=abc123 benchmarks/run.sh -peers "sluice sluice-base"`.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
udp_port_free "$TLS_PORT"
raise_nofile
base=${BENCH_BASE:-HEAD}
if [ -z "${BENCH_PREBUILT:-}" ] || [ ! -x "$BIN_DIR/sluice-base" ]; then
	src=$STATE_ROOT/base-src
	rm -rf "$src"
	mkdir -p "$src"
	(cd "$REPO_DIR" && git archive "$base") | tar -x -C "$src" || die "git archive $base failed"
	(cd "$src" && go build -o "$BIN_DIR/sluice-base" ./cmd/sluice) >&2 || die "cmd/sluice at $base does not build"
	(cd "$REPO_DIR" && git rev-parse --short "$base") >"$BIN_DIR/sluice-base.rev"
fi
dir=$(state_dir sluice-base)
taskset -c "$CPU" "$BIN_DIR/sluice-base" --listen "127.0.0.1:$PORT" --listen-tls "127.0.0.1:$TLS_PORT" \
	--allow-ports all --allow-private --access-log off --workers 1 \
	</dev/null >"$dir/log" 2>&1 &
pid=$!
wait_ready "$pid" "$PORT" "$dir/log"
wait_ready "$pid" "$TLS_PORT" "$dir/log"
wait_udp "$pid" "$TLS_PORT" "$dir/log"
echo "$pid"

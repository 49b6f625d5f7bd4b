#!/usr/bin/env bash
# run.sh: build sluice and the soak tool, start sluice on loopback, soak it,
# and write the report.
#
#   benchmarks/soak/run.sh [-duration 10m] [other soak flags...]
#
# sluice listens on 127.0.0.1: plain on $SOAK_PORT_PLAIN (26080), TLS and
# QUIC on $SOAK_PORT_TLS (26081), pprof on $SOAK_PORT_PPROF (26060); the
# soak's DNS server is its --resolver on UDP $SOAK_PORT_DNS (26053). The
# report goes to benchmarks/results/soak-<date>.json and a summary to
# soak-<date>.md (plus the load average and sluice's exit status and log
# counts). The load is moderate, for a machine shared with other work:
# 128 workers, at most 100 tunnels a second (plus a storm of 300 every
# minute), up to 1 MiB each way per tunnel. Every flag given is passed to the soak tool, after run.sh's own
# (so a second -duration wins). Exit status: the soak's (3: unexpected
# errors), or 1 if sluice did not start or exit cleanly.
#
# SOAK_REV=<rev> builds sluice from that commit (git archive into a
# temporary directory) instead of the working tree, for a tree that is
# being edited or does not build; the summary names what was built.
set -euo pipefail

SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$SOAK_DIR/../.." && pwd)
RESULTS=$REPO_DIR/benchmarks/results
PLAIN=${SOAK_PORT_PLAIN:-26080}
TLS=${SOAK_PORT_TLS:-26081}
PPROF=${SOAK_PORT_PPROF:-26060}
DNS=${SOAK_PORT_DNS:-26053}

WORK=$(mktemp -d /tmp/sluice-soak.XXXXXX)
SLUICE_PID=
cleanup() {
	if [ -n "$SLUICE_PID" ] && kill -0 "$SLUICE_PID" 2>/dev/null; then
		kill -TERM "$SLUICE_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT

for port in $PLAIN $TLS $PPROF; do
	if ss -Htln "sport = :$port" | grep -q .; then
		echo "run.sh: TCP port $port is in use (set SOAK_PORT_*)" >&2
		exit 1
	fi
done
for port in $TLS $DNS; do
	if ss -Huln "sport = :$port" | grep -q .; then
		echo "run.sh: UDP port $port is in use (set SOAK_PORT_*)" >&2
		exit 1
	fi
done

cd "$REPO_DIR"
if [ -n "${SOAK_REV:-}" ]; then
	BUILT="commit $(git rev-parse --short "$SOAK_REV")"
	mkdir "$WORK/src"
	git archive "$SOAK_REV" | tar -x -C "$WORK/src"
	(cd "$WORK/src" && go build -o "$WORK/sluice" ./cmd/sluice)
else
	BUILT="the working tree at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!benchmarks' || echo ' with uncommitted changes')"
	go build -o "$WORK/sluice" ./cmd/sluice
fi
go build -o "$WORK/soak" ./benchmarks/soak

# --tcp-keepalive 5s: a TCP client that vanished without FIN (the soak's
# client_vanish fault) and has nothing more coming toward it is found by
# the first probe, not by the 5-minute --idle-timeout; -vanish-wait (60 s)
# is above it and above --quic-idle-timeout (30 s), which finds a QUIC
# client that vanished.
SLUICE_ARGS=(--listen "127.0.0.1:$PLAIN" --listen-tls "127.0.0.1:$TLS"
	--allow-ports all --allow-private --pprof "127.0.0.1:$PPROF" --access-log off
	--resolver "127.0.0.1:$DNS" --tcp-keepalive 5s)
"$WORK/sluice" "${SLUICE_ARGS[@]}" >"$WORK/sluice.log" 2>&1 &
SLUICE_PID=$!
for _ in $(seq 100); do
	curl -sf -o /dev/null "http://127.0.0.1:$PPROF/debug/pprof/" && break
	kill -0 "$SLUICE_PID" 2>/dev/null || break
	sleep 0.1
done
if ! curl -sf -o /dev/null "http://127.0.0.1:$PPROF/debug/pprof/"; then
	echo "run.sh: sluice did not start:" >&2
	cat "$WORK/sluice.log" >&2
	exit 1
fi

STAMP=$(date -u +%Y-%m-%d-%H%M)
JSON=$RESULTS/soak-$STAMP.json
MD=$RESULTS/soak-$STAMP.md
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
rc=0
"$WORK/soak" -proxy-plain "127.0.0.1:$PLAIN" -proxy-tls "127.0.0.1:$TLS" -proxy-quic "127.0.0.1:$TLS" \
	-pid "$SLUICE_PID" -pprof-url "http://127.0.0.1:$PPROF" -dns "127.0.0.1:$DNS" \
	-duration 10m -concurrency 128 -rate 100 -max-bytes 1048576 -out "$JSON" -md "$MD" "$@" || rc=$?
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# SIGTERM: sluice drains (nothing is open any more) and must exit 0.
kill -TERM "$SLUICE_PID"
sluice_rc=0
for _ in $(seq 400); do
	kill -0 "$SLUICE_PID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$SLUICE_PID" 2>/dev/null; then
	sluice_rc=timeout
	kill -KILL "$SLUICE_PID"
else
	wait "$SLUICE_PID" || sluice_rc=$?
fi
SLUICE_PID=
rm -rf "$WORK/src" "$WORK/sluice" "$WORK/soak" # the log stays

if [ -f "$MD" ]; then
	{
		echo
		echo "## The run"
		echo
		echo "sluice \`${SLUICE_ARGS[*]}\`, built from $BUILT; $(go version | cut -d' ' -f3); load average $LOAD_BEFORE before, $LOAD_AFTER after; $(nproc) cores."
		echo "sluice exit status after SIGTERM: $sluice_rc; its log: $(grep -c '"level":"warn"' "$WORK/sluice.log" || true) warn, $(grep -c '"level":"error"' "$WORK/sluice.log" || true) error lines."
		grep '"level":"error"' "$WORK/sluice.log" | head -5 | sed 's/^/    /' || true
		echo
		echo "Its warnings, by message (fd numbers folded):"
		echo
		grep '"level":"warn"' "$WORK/sluice.log" | sed -E 's/.*"message":"([^"]*)".*/\1/; s/fd=[0-9]+/fd=N/g' |
			sort | uniq -c | sort -rn | head -8 | sed 's/^/    /' || true
	} >>"$MD"
	cat "$MD"
fi
echo "run.sh: report $JSON, summary $MD, sluice log $WORK/sluice.log" >&2
if [ "$sluice_rc" != 0 ]; then
	echo "run.sh: sluice exited $sluice_rc after SIGTERM" >&2
	[ "$rc" = 0 ] && rc=1
fi
exit "$rc"

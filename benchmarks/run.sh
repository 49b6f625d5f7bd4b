#!/usr/bin/env bash
# run.sh: compare sluice with its peers in one command.
#
#   benchmarks/run.sh [-quick] [-r N] [-peers "sluice goproxy caddy squid nginx-stream none"] [-tests "setup rr bulk1 bulk8 idle [idle2k] [dgram] [padding]"]
#   BENCH_BASE=<rev> benchmarks/run.sh -peers "sluice sluice-base"   # a change, before and after
#   benchmarks/run.sh -peers "sluice goproxy caddy" -protos h3   # only these protocols of each peer
#   benchmarks/run.sh -peers "sluice masque" -protos "h1 h2 h3" -tests dgram   # connect-udp flows
#   benchmarks/run.sh -peers sluice -protos "h2 h3" -tests padding   # what NaïveProxy padding costs
#
# Every peer is started once, pinned to CPU 0 (taskset -c 0); the load tool
# runs pinned to CPU 1 with its own origin on 127.0.0.1:21000. For each test
# and each of R repeats the peers take turns (in a rotated order), so that
# a slow minute of the machine hurts all peers alike. The idle tests restart
# the peer before every run, so that its memory baseline is a fresh process
# and not heap left over from earlier tests. At the end the JSON lines go
# through the report tool: markdown tables of medians and ratios
# sluice/peer, printed and written to benchmarks/results/<date>.md.
# HTTP/3 (sluice, goproxy, caddy, masque) runs over UDP on the peer's TLS
# port. The dgram tests (connect-udp flows; "dgram" is dgram16 and dgram1)
# run only on the peers that serve connect-udp (DGRAM_PROTOS). The padding
# tests ("padding" is setup and first8, each without and with the tool's
# -padding) run only on sluice h2 and h3 (PAD_PROTOS): no other peer pads.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BIN=$BENCH_DIR/bin
PEER_CPU=0
TOOL_CPU=1
export BENCH_ORIGIN=127.0.0.1:21000
export BENCH_STATE=${BENCH_STATE:-/tmp/sluice-bench}

# BENCH_PREBUILT=1 given by the caller: measure the binaries already in
# bin/ (for example a sluice built from a commit while the tree does not
# build); the report says so.
PREBUILT_AT_START=$([ -n "${BENCH_PREBUILT:-}" ] && echo 1 || echo 0)
QUICK=0
REPEATS=3
PEERS="sluice goproxy caddy squid nginx-stream none"
TESTS="setup rr bulk1 bulk8 idle"
PROTO_FILTER=""
while [ $# -gt 0 ]; do
	case $1 in
	-quick) QUICK=1 ;;
	-r) REPEATS=$2; shift ;;
	-peers) PEERS=$2; shift ;;
	-tests) TESTS=$2; shift ;;
	-protos) PROTO_FILTER=$2; shift ;;
	-h | -help | --help) sed -n '2,22p' "$0"; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ] && [ "$REPEATS" = 3 ]; then
	REPEATS=1
fi

# Test definitions: name and load tool arguments. Every run is bounded by
# -n and -duration (the tool's own defaults bound the rest).
declare -A TEST_NAME TEST_ARGS
if [ "$QUICK" = 1 ]; then
	TEST_NAME=([setup]=setup [rr]=rr-200 [bulk1]=bulk-1-down [bulk8]=bulk-8-up [idle]=idle-1k [idle2k]=idle-2k
		[dgram16]=dgram-16 [dgram1]=dgram-1
		[padsetup:0]=setup-nopad [padsetup:1]=setup-pad [padfirst8:0]=first8-nopad [padfirst8:1]=first8-pad)
	TEST_ARGS=(
		[setup]="-mode setup -c 16 -n 100000 -duration 1s"
		[rr]="-mode rr -c 200 -n 2000000 -duration 1s"
		[bulk1]="-mode bulk -c 1 -dir down -bytes 134217728 -duration 10s"
		[bulk8]="-mode bulk -c 8 -dir up -bytes 16777216 -duration 10s"
		[idle]="-mode idle -c 1000 -settle 500ms -max-errors 50"
		[idle2k]="-mode idle -c 2000 -settle 500ms -max-errors 50"
		[dgram16]="-mode dgram -c 16 -window 8 -size 1200 -n 2000000 -warmup 300ms -duration 1s"
		[dgram1]="-mode dgram -c 1 -window 8 -size 1200 -n 2000000 -warmup 300ms -duration 1s"
		[padsetup:0]="-mode setup -c 16 -n 100000 -duration 1s"
		[padsetup:1]="-mode setup -c 16 -n 100000 -duration 1s -padding"
		[padfirst8:0]="-mode first8 -c 16 -n 100000 -duration 1s"
		[padfirst8:1]="-mode first8 -c 16 -n 100000 -duration 1s -padding"
	)
else
	TEST_NAME=([setup]=setup [rr]=rr-1k [bulk1]=bulk-1-down [bulk8]=bulk-8-up [idle]=idle-5k [idle2k]=idle-2k
		[dgram16]=dgram-16 [dgram1]=dgram-1
		[padsetup:0]=setup-nopad [padsetup:1]=setup-pad [padfirst8:0]=first8-nopad [padfirst8:1]=first8-pad)
	TEST_ARGS=(
		[setup]="-mode setup -c 16 -n 500000 -duration 2s"
		[rr]="-mode rr -c 1000 -n 10000000 -duration 2s"
		[bulk1]="-mode bulk -c 1 -dir down -bytes 268435456 -duration 20s"
		[bulk8]="-mode bulk -c 8 -dir up -bytes 33554432 -duration 20s"
		[idle]="-mode idle -c 5000 -settle 1s -max-errors 50"
		[idle2k]="-mode idle -c 2000 -settle 1s -max-errors 50"
		[dgram16]="-mode dgram -c 16 -window 8 -size 1200 -n 10000000 -warmup 1s -duration 3s"
		[dgram1]="-mode dgram -c 1 -window 8 -size 1200 -n 10000000 -warmup 1s -duration 3s"
		[padsetup:0]="-mode setup -c 16 -n 500000 -duration 2s"
		[padsetup:1]="-mode setup -c 16 -n 500000 -duration 2s -padding"
		[padfirst8:0]="-mode first8 -c 16 -n 500000 -duration 2s"
		[padfirst8:1]="-mode first8 -c 16 -n 500000 -duration 2s -padding"
	)
fi
# "dgram" is both flow counts: 16 (what the HTTP/3 goal is stated at) and 1.
# "padding" is setup and first8 (8 round trips per tunnel: the ones padding
# frames), each unpadded and padded: the two runs of a pair go back to back
# on the same peer process, the unpadded one first in odd repeats and the
# padded one first in even ones.
TESTS_ASKED=$TESTS
TESTS=$(for t in $TESTS; do
	case $t in
	dgram) echo dgram16 dgram1 ;;
	padding) echo padsetup padfirst8 ;;
	*) echo "$t" ;;
	esac
done | xargs)

# Peers: listen port (TLS on port+1, and QUIC on UDP port+1 for h3) and the
# protocols each one speaks.
declare -A PORT=([sluice]=21080 [goproxy]=21090 [caddy]=21100 [squid]=21110 [nginx-stream]=21120 [sluice-base]=21130
	[masque]=21140)
declare -A PROTOS=([sluice]="h1 h1tls h2 h3" [goproxy]="h1 h1tls h2 h3" [caddy]="h1 h1tls h2 h3" [squid]=h1 [nginx-stream]=raw [none]=raw
	[sluice-base]="h1 h1tls h2 h3" [masque]="")
# connect-udp (the dgram tests): h1 is the upgrade over plain TCP, h2 the
# extended CONNECT over TLS, h3 QUIC datagrams; none is plain UDP to the
# origin. The other peers do not serve connect-udp.
declare -A DGRAM_PROTOS=([sluice]="h1 h2 h3" [sluice-base]="h1 h2 h3" [masque]=h3 [none]=raw)
# NaïveProxy padding (the padding tests): sluice pads HTTP/2 and HTTP/3
# CONNECT streams; no other peer pads (Caddy's forwardproxy would need
# klzgrad's fork), and HTTP/1.1 tunnels are never padded.
declare -A PAD_PROTOS=([sluice]="h2 h3" [sluice-base]="h2 h3")
declare -A PID=()

# The Go peers and the tool hold thousands of sockets in the idle test.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)

stamp=$(date -u +%Y-%m-%d-%H%M)
mkdir -p "$BENCH_DIR/results" "$BENCH_STATE"
JSONL=$BENCH_DIR/results/$stamp.jsonl
REPORT=$BENCH_DIR/results/$stamp.md
LOG=$BENCH_STATE/run.log
: >"$JSONL"
: >"$LOG"
NOTES=()
note() { NOTES+=("$*"); echo "run.sh: $*" >&2; }

echo "run.sh: building the load tool and the report" >&2
(cd "$REPO_DIR" && go build -o "$BIN/loadgen" ./benchmarks/loadgen && go build -o "$BIN/report" ./benchmarks/report)

start_peer() {
	local p=$1 pid
	[ "$p" = none ] && return 0
	if pid=$("$BENCH_DIR/peers/$p.sh" "${PORT[$p]}" "$PEER_CPU" 2>>"$LOG"); then
		PID[$p]=$pid
		return 0
	fi
	unset "PID[$p]"
	return 1
}

# stop_peer NAME: SIGKILL, then wait until the process is gone. A graceful
# stop would let a peer drain its tunnels for many seconds, and a draining
# sluice or Caddy still listening (SO_REUSEPORT) would take part of the next
# run's connections.
stop_peer() {
	local p=$1 pid=${PID[$1]:-} i
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	unset "PID[$p]"
}

cleanup() {
	local p
	for p in "${!PID[@]}"; do stop_peer "$p"; done
}
trap cleanup EXIT

# Start every peer once; drop the ones that cannot start, with a note.
ACTIVE=()
for p in $PEERS; do
	[[ -v PROTOS[$p] ]] || { echo "run.sh: unknown peer $p" >&2; exit 2; }
	echo "run.sh: starting $p" >&2
	if start_peer "$p"; then
		ACTIVE+=("$p")
	else
		note "$p did not start (see $LOG); left out"
	fi
done
[ ${#ACTIVE[@]} -gt 0 ] || { echo "run.sh: no peer started" >&2; exit 1; }
# Every peer binary is built now; restarts must run the same build, even
# if the source tree changes during the run.
export BENCH_PREBUILT=1

proxy_addr() {
	local p=$1 proto=$2
	case $p/$proto in
	none/*) echo "" ;;
	*/h1 | */raw) echo "127.0.0.1:${PORT[$p]}" ;;
	# h1tls and h2 on the TCP TLS port, h3 on the same port over UDP.
	*) echo "127.0.0.1:$((PORT[$p] + 1))" ;;
	esac
}

# one_run TEST PEER PROTO: one load tool run, its JSON line appended.
one_run() {
	local t=$1 p=$2 proto=$3 out
	if [ "$p" != none ] && ! kill -0 "${PID[$p]:-0}" 2>/dev/null; then
		note "$p was not running before ${TEST_NAME[$t]} $proto; restarted"
		start_peer "$p" || { note "$p failed to restart"; return 0; }
	fi
	# shellcheck disable=SC2086 # TEST_ARGS holds several flags on purpose
	if out=$(taskset -c "$TOOL_CPU" "$BIN/loadgen" -json -origin "$BENCH_ORIGIN" \
		-proto "$proto" -proxy "$(proxy_addr "$p" "$proto")" -pid "${PID[$p]:-}" \
		-label "$p" -test "${TEST_NAME[$t]}" ${TEST_ARGS[$t]} 2>>"$LOG"); then
		echo "$out" >>"$JSONL"
		echo "  ${TEST_NAME[$t]} $p $proto: $(echo "$out" | cut -c1-160)" >&2
	else
		note "${TEST_NAME[$t]} $p $proto failed: $(tail -1 "$LOG")"
	fi
}

# variants_of TEST: the runs one test makes per peer and protocol: itself,
# or for the padding tests the unpadded and the padded run.
variants_of() {
	case $1 in
	padsetup | padfirst8) echo "$1:0 $1:1" ;;
	*) echo "$1" ;;
	esac
}

load_before=$(cut -d" " -f1-3 /proc/loadavg)
start=$(date +%s)
for t in $TESTS; do
	variants=$(variants_of "$t")
	for v in $variants; do
		[ -n "${TEST_ARGS[$v]:-}" ] || { echo "run.sh: unknown test $t" >&2; exit 2; }
	done
	for rep in $(seq "$REPEATS"); do
		# Rotate the order each repeat so no peer always runs first.
		n=${#ACTIVE[@]}
		for i in $(seq 0 $((n - 1))); do
			p=${ACTIVE[$(((i + rep - 1) % n))]}
			protos=${PROTOS[$p]}
			[[ $t == dgram* ]] && protos=${DGRAM_PROTOS[$p]:-}
			[[ $t == pad* ]] && protos=${PAD_PROTOS[$p]:-}
			for proto in $protos; do
				if [ -n "$PROTO_FILTER" ] && [[ " $PROTO_FILTER " != *" $proto "* ]]; then
					continue
				fi
				if [[ $t == idle* ]] && [ "$p" != none ]; then
					stop_peer "$p"
					start_peer "$p" || { note "$p failed to restart for idle"; continue; }
				fi
				# A pair (unpadded, padded) runs back to back, the first
				# of it alternating with the repeat.
				vs=$variants
				[ $((rep % 2)) = 0 ] && vs=$(echo "$variants" | tr ' ' '\n' | tac | xargs)
				for v in $vs; do one_run "$v" "$p" "$proto"; done
			done
		done
	done
done
elapsed=$(($(date +%s) - start))
load_after=$(cut -d" " -f1-3 /proc/loadavg)

versions() {
	echo "- $(go version | cut -d' ' -f3-), kernel $(uname -r), $(nproc) CPUs"
	[ -x "$BIN/caddy" ] && echo "- caddy $("$BIN/caddy" version 2>/dev/null | cut -d' ' -f1) + forwardproxy v0.0.0-20240314124830-ec0619230bc0"
	command -v squid >/dev/null && echo "- $(squid -v 2>/dev/null | head -1)"
	command -v nginx >/dev/null && echo "- $(nginx -v 2>&1)"
	[[ " ${ACTIVE[*]} " == *" masque "* ]] &&
		echo "- masque: $(cd "$REPO_DIR" && go list -m github.com/quic-go/masque-go github.com/quic-go/quic-go | xargs) (the main go.mod)"
	[[ " ${ACTIVE[*]} " == *" sluice-base "* ]] && [ -f "$BIN/sluice-base.rev" ] &&
		echo "- sluice-base: the tree at $(cat "$BIN/sluice-base.rev") (BENCH_BASE)"
	[ "$PREBUILT_AT_START" = 1 ] && echo "- peer binaries taken as found in benchmarks/bin (BENCH_PREBUILT=1 at start), not built from the tree"
	return 0
}

{
	echo "## sluice benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`benchmarks/run.sh $([ "$QUICK" = 1 ] && echo -quick) -r $REPEATS -peers \"$PEERS\" -tests \"$TESTS_ASKED\"$([ -n "$PROTO_FILTER" ] && echo " -protos \"$PROTO_FILTER\"")\`, $elapsed s."
	echo "Peer on CPU $PEER_CPU, load tool (and origin) on CPU $TOOL_CPU; fd limit $FD_LIMIT for every process."
	echo "Load average before: $load_before, after: $load_after (anything above ~2 means other work shared the cores)."
	for t in $TESTS; do for v in $(variants_of "$t"); do echo "- ${TEST_NAME[$v]}: \`${TEST_ARGS[$v]}\`"; done; done
	versions
	echo
	# The same failure in every repeat is one note with a count.
	if [ ${#NOTES[@]} -gt 0 ]; then
		printf '%s\n' "${NOTES[@]}" | sort | uniq -c | sed -E 's/^ *([0-9]+) (.*)/- note (×\1): \2/'
		echo
	fi
	"$BIN/report" "$JSONL"
} >"$REPORT"
cat "$REPORT"
echo "run.sh: wrote $REPORT and $JSONL" >&2

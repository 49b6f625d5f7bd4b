# lib.sh is sourced by the peer start scripts. Each script takes a listen
# PORT and a CPU to pin to, starts its peer in the background with its
# output in a log file, waits until the port accepts, and prints only the
# peer's PID on stdout (run.sh reads it and samples /proc/PID).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BIN_DIR=$BENCH_DIR/bin
# Per-peer scratch directories (configs, logs, pid files): outside the
# repository so nothing generated lands in a commit.
STATE_ROOT=${BENCH_STATE:-/tmp/sluice-bench}
# BENCH_PREBUILT=1 (set by run.sh after the first start) makes the scripts
# reuse the binaries in bin/ instead of rebuilding from the current tree.
# The origin of the load tool: the L4 relay forwards here. run.sh starts
# every load tool run with -origin on this address.
ORIGIN_ADDR=${BENCH_ORIGIN:-127.0.0.1:21000}

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# parse_args PORT CPU: sets PORT, TLS_PORT (PORT+1) and CPU.
parse_args() {
	[ $# -ge 2 ] || die "usage: $(basename "$0") PORT CPU"
	PORT=$1
	TLS_PORT=$((PORT + 1))
	CPU=$2
	port_free "$PORT" "$TLS_PORT"
}

# state_dir NAME: a fresh scratch directory for one peer.
state_dir() {
	local d=$STATE_ROOT/$1
	rm -rf "$d"
	mkdir -p "$d"
	echo "$d"
}

# port_free PORT...: refuse to start on a port something already listens
# on. Peers that set SO_REUSEPORT (gnet, Caddy) would otherwise share the
# port with a leftover process and split the load with it.
port_free() {
	local port
	for port in "$@"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			die "127.0.0.1:$port is already in use (a leftover peer?)"
		fi
	done
}

# udp_port_free PORT...: the same for UDP (the HTTP/3 peers serve QUIC on
# their TLS port). Nothing answers a probe on UDP, so ask the kernel.
udp_port_free() {
	local port
	command -v ss >/dev/null || return 0
	for port in "$@"; do
		if [ -n "$(ss -Hlun "sport = :$port")" ]; then
			die "udp 127.0.0.1:$port is already in use (a leftover peer?)"
		fi
	done
}

# wait_udp PID PORT LOG: wait up to 20 s until PID has a UDP socket on
# PORT (its QUIC listener), while it lives.
wait_udp() {
	local pid=$1 port=$2 log=$3 i
	command -v ss >/dev/null || return 0
	for i in $(seq 200); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "peer exited before listening on udp $port"; }
		if ss -Hlunp "sport = :$port" | grep -q "pid=$pid,"; then
			return 0
		fi
		sleep 0.1
	done
	tail -20 "$log" >&2
	kill "$pid" 2>/dev/null || true
	die "peer did not listen on udp $port within 20 s"
}

# wait_ready PID PORT LOG: wait up to 20 s for PORT to accept while PID
# lives; on failure show the log and stop the peer.
wait_ready() {
	local pid=$1 port=$2 log=$3 i
	for i in $(seq 200); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -20 "$log" >&2
			die "peer exited before listening on $port"
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	tail -20 "$log" >&2
	kill "$pid" 2>/dev/null || true
	die "peer did not listen on $port within 20 s"
}

# wait_tls PID PORT LOG: wait up to 30 s until a TLS handshake on PORT
# succeeds (a listener can accept before its certificate exists).
wait_tls() {
	local pid=$1 port=$2 log=$3 i
	for i in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || { tail -20 "$log" >&2; die "peer exited"; }
		if timeout 2 openssl s_client -connect "127.0.0.1:$port" </dev/null >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	tail -20 "$log" >&2
	kill "$pid" 2>/dev/null || true
	die "no TLS handshake on $port within 30 s"
}

# raise_nofile: the soft fd limit up to the hard one; idle runs hold
# thousands of tunnels, each costing the proxy two fds or more.
raise_nofile() {
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

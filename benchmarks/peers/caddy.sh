#!/usr/bin/env bash
# caddy.sh PORT CPU: Caddy v2 with the forwardproxy plugin, built from Go
# modules (peers/caddy is its own module). h1 on PORT, h1-in-TLS and h2 on
# PORT+1 (TCP) and h3 on PORT+1 (UDP), with a certificate from Caddy's
# internal CA.
source "$(dirname "$0")/lib.sh"
parse_args "$@"
udp_port_free "$TLS_PORT"
raise_nofile
src=$BENCH_DIR/peers/caddy
bin=$BIN_DIR/caddy
# Building takes a minute; do it only when the sources changed. The plugin
# version is not in the checksum database, so only it skips the lookup.
if [ ! -x "$bin" ] || [ "$src/go.mod" -nt "$bin" ] || [ "$src/main.go" -nt "$bin" ]; then
	(cd "$src" && GONOSUMDB=github.com/caddyserver/forwardproxy go build -o "$bin" .) >&2
fi
dir=$(state_dir caddy)
# acl "allow all" is needed: forwardproxy denies 127.0.0.0/8 and the other
# private ranges by default, and the origin is on 127.0.0.1. No ports
# directive means every port. Access logs are off unless configured.
cat >"$dir/Caddyfile" <<CADDY
{
	admin off
	persist_config off
	skip_install_trust
	auto_https disable_redirects
	storage file_system $STATE_ROOT/caddy-storage
	log {
		level ERROR
	}
	order forward_proxy before file_server
	servers {
		protocols h1 h2 h3
	}
}
http://:$PORT {
	bind 127.0.0.1
	forward_proxy {
		acl {
			allow all
		}
	}
}
https://127.0.0.1:$TLS_PORT {
	bind 127.0.0.1
	tls internal
	forward_proxy {
		acl {
			allow all
		}
	}
}
CADDY
HOME=$dir XDG_DATA_HOME=$STATE_ROOT/caddy-storage XDG_CONFIG_HOME=$dir/config \
	taskset -c "$CPU" "$bin" run --config "$dir/Caddyfile" --adapter caddyfile \
	</dev/null >"$dir/log" 2>&1 &
pid=$!
wait_ready "$pid" "$PORT" "$dir/log"
wait_ready "$pid" "$TLS_PORT" "$dir/log"
wait_udp "$pid" "$TLS_PORT" "$dir/log"
# The listener is up before the internal CA has issued the certificate;
# until then handshakes fail with "internal error". Wait for a real one.
# The CA and certificate are kept in $STATE_ROOT/caddy-storage across
# restarts, so this wait is long only the first time.
wait_tls "$pid" "$TLS_PORT" "$dir/log"
echo "$pid"

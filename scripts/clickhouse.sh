#!/usr/bin/env bash
# Starts a throw-away ClickHouse server (Debian's clickhouse-server) on a loopback port with
# its data in DIR, for benchmarks and manual runs of `--store clickhouse://…`. The tests start
# their own server the same way (crates/palisade-store/tests/clickhouse.rs).
#
#   scripts/clickhouse.sh start DIR [PORT]   prints the store URL (clickhouse://127.0.0.1:PORT/palisade)
#   scripts/clickhouse.sh stop DIR
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }

case "$cmd" in
start)
  command -v clickhouse-server >/dev/null || { echo "clickhouse-server is missing (Debian package clickhouse-server)" >&2; exit 1; }
  port="${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files"
  dir="$(cd "$dir" && pwd)"
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/server.log</log><errorlog>$dir/server.err.log</errorlog></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$port</http_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>536870912</mark_cache_size>
</yandex>
XML
  clickhouse-server --config-file="$dir/config.xml" >"$dir/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    if [ "$(curl -s "http://127.0.0.1:$port/ping" 2>/dev/null)" = "Ok." ]; then
      echo "clickhouse://127.0.0.1:$port/palisade"
      exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/stdout.log" "$dir/server.err.log" >&2 2>/dev/null; exit 1; }
    sleep 0.1
  done
  echo "clickhouse-server did not answer on port $port (see $dir/server.err.log)" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid="$(cat "$dir/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/pid"
  fi
  ;;
*) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac

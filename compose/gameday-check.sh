#!/usr/bin/env bash
# gameday-check.sh: the game-day path end to end on this machine, with
# nothing pulled:
#   1. build the images (cascade images: FROM scratch, tagged :local)
#   2. up:     docker compose brings compose/docker-compose.yml up
#   3. attach: cascade up --backend compose --attach writes the endpoints
#              file and runs a user's container (examples/usersvc, built
#              FROM scratch here) on the project's network
#   4. probe:  DynamoDB answers through load balancer ddb-lb-a
#   5. inject: 1.5 s latency on ddb-lb-a, and a docker pause of dwfm-b;
#              the probe sees the latency, docker sees the pause
#   6. revert both; the probe is fast again, dwfm-b runs
#   7. the user's container: it resolves DynamoDB's regional hostname
#      through the mock DNS; cascade inject empty-endpoint makes its
#      DynamoDB calls fail with no such host, restore-dns mends them;
#      pause-service and restart-service name it
#   8. down:   the attached container goes with cascade up, and no
#      container or network of the project is left
# Exit status 0 when every step held. CASCADE_COMPOSE_PROJECT names the
# project (default cascade-gameday-check); CASCADE_NET its /24 (default
# 10.199.0).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
project=${CASCADE_COMPOSE_PROJECT:-cascade-gameday-check}
export CASCADE_NET=${CASCADE_NET:-10.199.0}
work=$(mktemp -d)
endpoints=$work/endpoints.json
attach_pid=
user_image=cascade-gameday/usersvc:${project}

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'gameday-check: FAIL: %s\n' "$*" >&2; exit 1; }

# docker compose (the plugin) where it works, else docker-compose (v1).
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  fail "neither 'docker compose' nor 'docker-compose' works here"
fi
dc() { "${compose[@]}" -f compose/docker-compose.yml -p "$project" "$@"; }

cleanup() {
  status=$?
  if [[ -n $attach_pid ]]; then kill "$attach_pid" 2>/dev/null || true; wait "$attach_pid" 2>/dev/null || true; fi
  if [[ $status -ne 0 ]]; then
    echo "--- logs of the attach process"; cat "$work/attach.log" 2>/dev/null || true
    dc logs --tail=20 2>/dev/null | tail -60 || true
  fi
  dc down --remove-orphans >/dev/null 2>&1 || true
  docker rmi -f "$user_image" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

say "build cascade and the images (${compose[*]}: $("${compose[@]}" version --short 2>/dev/null || true))"
go build -o "$work/cascade" ./cmd/cascade
"$work/cascade" images -q
mkdir -p "$work/usersvc"
CGO_ENABLED=0 GOOS=linux go build -trimpath -o "$work/usersvc/usersvc" ./examples/usersvc
printf 'FROM scratch\nCOPY usersvc /usersvc\nENTRYPOINT ["/usersvc"]\n' >"$work/usersvc/Dockerfile"
docker build -q -t "$user_image" "$work/usersvc" 2>/dev/null

say "up: project $project on $CASCADE_NET.0/24"
CASCADE_EPOCH=$(date +%s%3N) dc up -d

say "attach: cascade up --backend compose --attach $user_image,name=usersvc,port=8080"
CASCADE_COMPOSE_PROJECT=$project "$work/cascade" up --backend compose --endpoints-file "$endpoints" \
  --attach "$user_image,name=usersvc,port=8080" >"$work/attach.out" 2>"$work/attach.log" &
attach_pid=$!
for _ in $(seq 1 600); do
  [[ -s $endpoints ]] && break
  kill -0 "$attach_pid" 2>/dev/null || fail "cascade up --backend compose exited"
  sleep 0.1
done
[[ -s $endpoints ]] || fail "no endpoints file after 60 s"
backend=$(jq -r .backend "$endpoints")
[[ $backend == compose ]] || fail "endpoints say backend $backend"
lb=$(jq -r '.load_balancers[] | select(.name=="ddb-lb-a") | .addr' "$endpoints")
echo "attached: $(jq -r '.admin | keys | join(" ")' "$endpoints"); ddb-lb-a at $lb"

# probe: a signed DynamoDB ListTables through ddb-lb-a, timed.
probe() {
  AWS_ACCESS_KEY_ID=AKIDCASCADE AWS_SECRET_ACCESS_KEY=cascade-secret AWS_DEFAULT_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true \
    curl -s -o "$work/probe.json" -w '%{http_code} %{time_total}' --max-time 20 \
      -H 'Content-Type: application/x-amz-json-1.0' -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDCASCADE/20251020/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-target, Signature=0' \
      --data '{}' "http://$lb/"
}
wait_probe() {
  for _ in $(seq 1 100); do
    out=$(probe || true)
    [[ ${out%% *} == 200 ]] && { echo "$out"; return 0; }
    sleep 0.2
  done
  fail "DynamoDB never answered through $lb (last: $out: $(cat "$work/probe.json" 2>/dev/null))"
}

say "probe: ListTables through ddb-lb-a"
base=$(wait_probe); echo "baseline: status and seconds: $base"

say "inject: latency 1500ms on ddb-lb-a, pause dwfm-b"
"$work/cascade" inject --endpoints-file "$endpoints" latency link=ddb-lb-a latency=1500ms
"$work/cascade" inject --endpoints-file "$endpoints" pause-service service=dwfm-b
slow=$(wait_probe); echo "with the toxic: $slow"
awk -v t="${slow#* }" 'BEGIN { exit !(t >= 1.4) }' || fail "probe took ${slow#* } s with 1500ms latency injected"
paused=$(docker inspect -f '{{.State.Paused}}' "$(dc ps -q dwfm-b)")
[[ $paused == true ]] || fail "dwfm-b is not paused (docker says $paused)"

say "revert"
"$work/cascade" inject --endpoints-file "$endpoints" --revert latency link=ddb-lb-a
"$work/cascade" inject --endpoints-file "$endpoints" --revert pause-service service=dwfm-b
fast=$(wait_probe); echo "after revert: $fast"
awk -v t="${fast#* }" 'BEGIN { exit !(t < 1.0) }' || fail "probe still slow after revert: ${fast#* } s"
paused=$(docker inspect -f '{{.State.Paused}}' "$(dc ps -q dwfm-b)")
[[ $paused == false ]] || fail "dwfm-b still paused"

say "the user's container: mock DNS, empty record, restore, pause, restart"
user=$(jq -r '.attached[] | select(.name=="usersvc") | .addr' "$endpoints")
[[ -n $user && $user != null ]] || fail "no attached usersvc in the endpoints"
user_id=$(docker ps -q --filter "name=$project-usersvc")
[[ -n $user_id ]] || fail "no running container $project-usersvc"
call() { curl -s -o "$work/user.json" -w '%{http_code}' --max-time 3 "http://$user$1" || true; }
lbs=$(jq -r '[.load_balancers[].ip] | join(" ")' "$endpoints")
"$work/cascade" inject --endpoints-file "$endpoints" disable-dns-automation
"$work/cascade" inject --endpoints-file "$endpoints" restore-dns endpoint=regional
[[ $(call /resolve) == 200 ]] || fail "usersvc cannot resolve DynamoDB: $(cat "$work/user.json")"
for a in $(jq -r '.addrs[]' "$work/user.json"); do
  [[ " $lbs " == *" $a "* ]] || fail "usersvc resolved $a, not a load balancer of the stack ($lbs)"
done
echo "usersvc resolves $(jq -c .addrs "$work/user.json") through the mock DNS"
[[ $(call /ddb) == 200 ]] || fail "usersvc's DynamoDB call failed: $(cat "$work/user.json")"
"$work/cascade" inject --endpoints-file "$endpoints" empty-endpoint endpoint=regional
[[ $(call /ddb) == 502 ]] && grep -q 'no such host' "$work/user.json" || fail "usersvc's DynamoDB call during the empty record: $(cat "$work/user.json")"
echo "record empty: usersvc's DynamoDB call: $(jq -r .error "$work/user.json" | grep -o 'lookup.*')"
"$work/cascade" inject --endpoints-file "$endpoints" restore-dns endpoint=regional
[[ $(call /ddb) == 200 ]] || fail "usersvc's DynamoDB call after the restore: $(cat "$work/user.json")"
"$work/cascade" inject --endpoints-file "$endpoints" pause-service service=usersvc
[[ $(docker inspect -f '{{.State.Paused}}' "$user_id") == true ]] || fail "usersvc is not paused"
[[ $(call /healthz) == 000 ]] || fail "a paused usersvc answered"
"$work/cascade" inject --endpoints-file "$endpoints" --revert pause-service service=usersvc
[[ $(call /healthz) == 200 ]] || fail "usersvc does not answer after the resume"
started=$(docker inspect -f '{{.State.StartedAt}}' "$user_id")
"$work/cascade" inject --endpoints-file "$endpoints" restart-service service=usersvc
[[ $(docker inspect -f '{{.State.StartedAt}}' "$user_id") != "$started" ]] || fail "usersvc was not restarted"
[[ $(call /ddb) == 200 ]] || fail "usersvc's DynamoDB call after the restart: $(cat "$work/user.json")"
"$work/cascade" inject --endpoints-file "$endpoints" --revert disable-dns-automation

say "detach and down"
kill "$attach_pid"; wait "$attach_pid" 2>/dev/null || true; attach_pid=
[[ -z $(docker ps -aq --filter "id=$user_id") ]] || fail "the attached usersvc outlived cascade up"
dc down --remove-orphans
left=$(docker ps -aq --filter "label=com.docker.compose.project=$project" | wc -l)
nets=$(docker network ls -q --filter "label=com.docker.compose.project=$project" | wc -l)
[[ $left -eq 0 && $nets -eq 0 ]] || fail "$left containers and $nets networks of $project left after down"
say "gameday-check: OK (up, attach, inject, probe, revert, user's container, down; nothing pulled)"

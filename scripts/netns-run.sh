#!/bin/sh
# netns-run.sh CMD [ARGS...]
#
# Runs CMD inside a fresh, private network namespace whose only interface is loopback, with
# multicast routed to it, so LAN discovery (UDP multicast 224.7.130.8:15723) can be tried
# by hand without a single packet leaving the machine (DESIGN §7). Every process started in
# the same invocation shares the namespace and hears the others; nothing outside does.
#
#   sudo scripts/netns-run.sh npm run -s drayer -- serve
#   sudo scripts/netns-run.sh sh -c 'node a.js & node b.js; wait'
#   scripts/netns-run.sh node dist/test/fixtures/discovery-child.js   # as a normal user, if
#                                                                     # user namespaces are enabled
#
# Needs util-linux (unshare) and iproute2 (ip). As root it uses `unshare -n`; otherwise it
# tries `unshare -rn` (a user namespace in which you are root). The namespace, and everything
# listening in it, disappears when CMD exits. Multicast leaves from 127.0.0.1 (`src`), so
# nodes see each other at 127.0.0.1 and can pull over HTTP.
set -eu
if [ "$#" -eq 0 ]; then
  sed -n '2,19p' "$0" >&2
  exit 2
fi
setup='set -e; ip link set lo up; ip link set lo multicast on; ip route add 224.0.0.0/4 dev lo src 127.0.0.1'
if [ "$(id -u)" -eq 0 ]; then
  exec unshare -n sh -c "$setup; exec \"\$@\"" sh "$@"
else
  exec unshare -rn sh -c "$setup; exec \"\$@\"" sh "$@"
fi

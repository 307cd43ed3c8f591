# The original Python Drayer (EternityForest/drayer) driven from the tests (issue 20): its source
# is found at $DRAYER_ORIGINAL_SRC. Importing it starts threads that multicast: run this ONLY in a
# private network namespace (test/netns.ts).
#   original.py make FILE N       an original stream of N publicSocialPost records (key title, value text)
#   original.py fixture FILE      the small file under test/fixtures/original/
#   original.py files FILE DIR   the original stream FILE with each file of DIR as its insertFile writes it
#                                 (test/fixtures/original/files.stream: its whole-file records, gzip)
#   original.py serve FILE PORT   serve FILE on 127.0.0.1:PORT (its HTTP API); prints "ready" when up
#   original.py lan FILE PORT [KEY URL]
#                                 on the LAN (issue 20.5): serve FILE on PORT with its local discovery
#                                 on; with KEY, FILE follows that stream, cloned from URL first (its
#                                 sync(), which also multicasts its getRecordsSince and record). Then
#                                 reads commands from stdin, one a line, and answers each on stdout:
#                                   post TITLE|TEXT   a publicSocialPost (multicast as it writes it)
#                                   waittip MOD|S     polls its own M-tip up to S seconds until it reaches MOD
#                                   tip               its M-tip
#   original.py read FILE PUBKEY URL
#                                 follow PUBKEY into FILE, sync it from URL (its httpSync), and print
#                                 its publicSocialPost records as its apps read them: one JSON line each
#   original.py mirror FILE PUBKEY URL PORT
#                                 follow PUBKEY into FILE, sync it from URL, then serve it on
#                                 127.0.0.1:PORT (its webAccess serves the stream's files); prints "ready"
import base64, functools, json, os, sys, time

import msgpack

# drayer.py was written for msgpack-python 0.x, whose unpackb gave raw bytes (raw=True) by default and
# it indexes records by b'id', b'type'...; Debian's is 1.0 (raw=False by default): give it 0.x's default.
msgpack.unpackb = functools.partial(msgpack.unpackb, raw=True)

sys.path.insert(0, os.environ["DRAYER_ORIGINAL_SRC"])
import drayer  # noqa: E402

cmd, fn = sys.argv[1], sys.argv[2]
if cmd == "make":
    n = int(sys.argv[3])
    s = drayer.DrayerStream(fn)
    t0 = time.time()
    for i in range(1, n + 1):
        s.rawSetItem("Post %d" % i, ("An original post, number %d." % i).encode("utf8"), "publicSocialPost")
    print("made %d records in %.1f s" % (n, time.time() - t0), flush=True)
    os._exit(0)  # its service thread never ends
elif cmd == "fixture":
    # the small file committed under test/fixtures/original/: posts, one edited, msgpack items
    s = drayer.DrayerStream(fn)
    for i in range(1, 13):
        s.rawSetItem("Post %d" % i, ("An original post, number %d. \u0645\u0631\u062d\u0628\u0627" % i).encode("utf8"), "publicSocialPost")
    s.rawSetItem("Post 3", "Post 3, edited.".encode("utf8"), "publicSocialPost")
    s["settings"] = {"theme": "dark", "n": 3}
    s["last"] = "(its delete fails in this snapshot: validateRecord refuses the record it writes)"
    print("made", flush=True)
    os._exit(0)
elif cmd == "files":
    s = drayer.DrayerStream(fn)
    for name in sorted(os.listdir(sys.argv[3])):
        s.insertFile(name, os.path.join(sys.argv[3], name))
    print("made", flush=True)
    os._exit(0)
elif cmd == "lan":
    drayer.startServer(int(sys.argv[3]))
    drayer.startLocalDiscovery()
    if len(sys.argv) > 4:
        s = drayer.DrayerStream(fn, pubkey=sys.argv[4])
        s.sync(sys.argv[5])
    else:
        s = drayer.DrayerStream(fn)
    print("ready", s.getModifiedTip(), base64.b64encode(s.pubkey).decode(), flush=True)
    for line in sys.stdin:
        op, _, arg = line.strip().partition(" ")
        if op == "post":
            title, _, body = arg.partition("|")
            s.rawSetItem(title, body.encode("utf8"), "publicSocialPost")
            print("posted", s.getModifiedTip(), flush=True)
        elif op == "waittip":
            mod, secs = arg.split("|")
            t0 = time.time()
            while time.time() - t0 < float(secs) and s.getModifiedTip() < int(mod):
                time.sleep(0.05)
            print("have" if s.getModifiedTip() >= int(mod) else "missing", "%.3f" % (time.time() - t0), flush=True)
        elif op == "tip":
            print("tip", s.getModifiedTip(), flush=True)
    os._exit(0)
elif cmd == "read":
    s = drayer.DrayerStream(fn, pubkey=sys.argv[3])
    s.httpSync(sys.argv[4])
    c = s.getConn().cursor()
    # as qdrake.py lists posts (key, timestamp, value), each read back through its API, which validates it
    c.execute('SELECT key, timestamp FROM record WHERE type="publicSocialPost" ORDER BY id desc')
    for key, ts in c.fetchall():
        body = s.rawGetItemByKey(key, "publicSocialPost").decode("utf8")
        print(json.dumps({"title": key, "ts": ts, "body": body}), flush=True)
    print("done", flush=True)
    os._exit(0)
elif cmd == "mirror":
    s = drayer.DrayerStream(fn, pubkey=sys.argv[3])
    s.httpSync(sys.argv[4])
    drayer.startServer(int(sys.argv[5]))
    print("ready", flush=True)
    while True:
        time.sleep(3600)
elif cmd == "serve":
    drayer.startServer(int(sys.argv[3]))
    s = drayer.DrayerStream(fn)
    print("ready", flush=True)
    while True:
        time.sleep(3600)

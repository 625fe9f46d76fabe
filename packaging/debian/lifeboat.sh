#!/bin/sh
# /usr/bin/lifeboat: the program lives in /usr/lib/lifeboat and runs on the system's Node.js.
exec /usr/bin/node /usr/lib/lifeboat/dist/cli/main.js "$@"

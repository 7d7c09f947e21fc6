#!/bin/sh
echo start
exec "$@"

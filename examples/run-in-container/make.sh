#!/bin/sh
# `make` for an image without make (busybox): `sh ./make.sh test|package`.
set -e
case "${1:-}" in
  test)
    for t in tests/test_*.sh; do
      echo "# $t"
      sh "$t"
    done
    ;;
  package)
    mkdir -p dist
    tar -czf dist/artifact.tar.gz src
    echo "packaged dist/artifact.tar.gz ($(wc -c < dist/artifact.tar.gz) bytes)"
    ;;
  *) echo "usage: sh ./make.sh test|package" >&2; exit 2 ;;
esac
